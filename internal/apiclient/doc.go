// Package apiclient is a Go client of the chipgate API generated from the
// committed OpenAPI document (api/openapi.json) by oapi-codegen, as an
// integrator would generate one. Its test drives it through a workflow
// against a real server, so that a document a generator cannot use, or a
// server that does not do what its document says, fails the build.
//
// Regenerate it after api/openapi.json changes:
//
//	go generate ./internal/apiclient
package apiclient

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@v2.8.2 -config oapi-codegen.yaml ../../api/openapi.json
