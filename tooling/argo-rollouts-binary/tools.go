//go:build tools

// Package tools pins the Argo Rollouts controller this module builds (the real Rollout
// controller the end-to-end tests run against the local control plane).
package tools

import (
	_ "github.com/argoproj/argo-rollouts/cmd/rollouts-controller"
)
