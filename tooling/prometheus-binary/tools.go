//go:build tools

// Package tools pins the Prometheus server and promtool this module builds: promtool checks and
// unit-tests the chart's alerting rules, and the end-to-end tests run a real Prometheus that
// scrapes the instrumentor with those rules loaded (its web UI's assets are not built).
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
