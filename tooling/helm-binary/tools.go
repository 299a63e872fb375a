//go:build tools

// Package tools pins the helm command this module builds (for `helm lint` and `helm template`
// of deploy/helm/instrumentor in tooling/deploy-check).
package tools

import (
	_ "helm.sh/helm/v3/cmd/helm"
)
