//go:build tools

// Package tools pins the KWOK command this module builds (fake nodes and pod lifecycles for the
// local control plane's pods cluster).
package tools

import (
	_ "sigs.k8s.io/kwok/cmd/kwok"
)
