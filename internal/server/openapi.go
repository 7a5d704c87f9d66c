package server

import (
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// OpenAPI returns the OpenAPI 3.1 document of every route, built from the
// route table so that it cannot miss one. Body schemas are reflected from the
// Go types of Route.Request and Route.Response.
func (s *Server) OpenAPI(version string) map[string]any {
	schemas := map[string]any{
		"Problem": map[string]any{
			"type": "object",
			"properties": map[string]any{
				"type": map[string]any{"type": "string"}, "title": map[string]any{"type": "string"},
				"status": map[string]any{"type": "integer"}, "detail": map[string]any{"type": "string"},
				"instance": map[string]any{"type": "string"}, "code": map[string]any{"type": "string"},
				"errors": map[string]any{"type": "array", "items": map[string]any{"type": "object", "properties": map[string]any{
					"path": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}},
			},
		},
	}
	problem := map[string]any{"description": "Problem details (RFC 9457)",
		"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
	paths := map[string]any{}
	for _, rt := range s.routes {
		item, _ := paths[rt.Path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[rt.Path] = item
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		if rt.Response != nil {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Response), schemas)}}
		}
		responses := map[string]any{strconv.Itoa(status): ok, "default": problem}
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"responses":   responses,
		}
		if rt.Public {
			op["security"] = []any{}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, p := range rt.Query {
			param := map[string]any{"name": p.Name, "in": "query", "description": p.Description, "schema": p.Schema}
			if p.Required {
				param["required"] = true
			}
			if p.Example != nil {
				param["example"] = p.Example
			}
			params = append(params, param)
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": schemaOf(reflect.TypeOf(rt.Request), schemas)}}}
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{
			"title":       "chipgate API",
			"version":     version,
			"description": "Export-control program for controlled AI accelerators. Every error is application/problem+json (RFC 9457).",
		},
		"paths": paths,
		"components": map[string]any{
			"schemas":         schemas,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer"}},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

// pathParam matches a path wildcard, {name} or {name...} (the rest of the
// path, as the tile routes take it).
var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)(?:\.\.\.)?\}`)

func operationID(rt Route) string {
	parts := []string{strings.ToLower(rt.Method)}
	for _, seg := range strings.Split(strings.TrimPrefix(rt.Path, "/api/v1"), "/") {
		seg = strings.TrimSuffix(strings.Trim(seg, "{}"), "...")
		seg = strings.NewReplacer("-", "_", ".", "_").Replace(seg)
		if seg != "" {
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "_")
}

var (
	timeType = reflect.TypeOf(time.Time{})
	uuidType = reflect.TypeOf(uuid.UUID{})
)

// schemaOf returns a JSON Schema for t, registering named structs in schemas
// and referring to them.
func schemaOf(t reflect.Type, schemas map[string]any) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t {
	case timeType:
		return map[string]any{"type": "string", "format": "date-time"}
	case uuidType:
		return map[string]any{"type": "string", "format": "uuid"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "contentEncoding": "base64"}
		}
		return map[string]any{"type": "array", "items": schemaOf(t.Elem(), schemas)}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem(), schemas)}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		name := t.Name()
		if name != "" {
			if _, ok := schemas[name]; ok {
				return map[string]any{"$ref": "#/components/schemas/" + name}
			}
			schemas[name] = map[string]any{} // placeholder against recursion
		}
		props := map[string]any{}
		var required []string
		addFields(t, props, &required, schemas)
		obj := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			obj["required"] = required
		}
		if name == "" {
			return obj
		}
		schemas[name] = obj
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any, required *[]string, schemas map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			addFields(ft, props, required, schemas)
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = schemaOf(f.Type, schemas)
		if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}
