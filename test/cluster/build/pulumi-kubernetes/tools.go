//go:build tools

// Package tools pins what the copied provider command (main.go) and its generator (generate.go) import, so
// `go mod tidy` keeps their dependencies.
package tools

import (
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	_ "github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
	_ "github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)
