package server

import (
	"encoding/json"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/chipgate/chipgate/internal/allocation"
	"github.com/chipgate/chipgate/internal/domain"
	"github.com/chipgate/chipgate/internal/policy"
	"github.com/chipgate/chipgate/internal/service"
)

// OpenAPIVersion is the OpenAPI version the document is written in: 3.0,
// which the common client generators (oapi-codegen among them) read.
const OpenAPIVersion = "3.0.3"

// APIVersion is the version of the API contract (info.version): its major
// is the /api/v1 in every path; docs/API.md says how it changes.
const APIVersion = "1.0.0"

//go:generate sh -c "cd ../.. && go run ./cmd/chipgate openapi > api/openapi.json"

// SpecJSON returns the OpenAPI document as served and as committed in
// api/openapi.json: indented, keys sorted, one newline at the end.
func (s *Server) SpecJSON() []byte {
	b, err := json.MarshalIndent(s.OpenAPI(), "", "  ")
	if err != nil {
		panic("server: the OpenAPI document does not encode: " + err.Error()) // a bug in OpenAPI
	}
	return append(b, '\n')
}

// Spec returns the OpenAPI document of a server's routes without a
// service behind them, for `chipgate openapi`.
func Spec() []byte { return New(nil, Options{RateLimit: -1}).SpecJSON() }

// OpenAPI returns the OpenAPI document of every route, built from the route
// table so that it cannot miss one. Body schemas are reflected from the Go
// types of Route.Request and Route.Response; a schema is named by its Go
// type's name, qualified by its package (allocation.Problem) where two
// types share a name. The document is deterministic: api/openapi.json is
// this document, written by `go run ./cmd/chipgate openapi > api/openapi.json`.
func (s *Server) OpenAPI() map[string]any {
	qualify := map[string]bool{}
	for {
		g := &specGen{schemas: map[string]any{}, byName: map[string]reflect.Type{}, qualify: qualify, clashes: map[string]bool{}}
		doc := g.document(s.routes)
		if len(g.clashes) == 0 {
			return doc
		}
		for n := range g.clashes {
			qualify[n] = true
		}
	}
}

// specGen builds one OpenAPI document.
type specGen struct {
	schemas map[string]any
	byName  map[string]reflect.Type
	// qualify names the type names that more than one type has: those are
	// qualified by their package. clashes collects the ones found.
	qualify, clashes map[string]bool
}

// problemResponse is a reference to the problem+json response of status.
func problemResponse(status int) map[string]any {
	return map[string]any{"$ref": "#/components/responses/Problem" + strconv.Itoa(status)}
}

// errorStatuses are the 4xx and 5xx answers an operation may give.
func errorStatuses(rt Route) []int {
	var out []int
	hasBody := rt.Request != nil
	hasPath := pathParam.MatchString(rt.Path)
	if hasBody {
		out = append(out, http.StatusBadRequest)
	}
	if !rt.Public {
		out = append(out, http.StatusUnauthorized, http.StatusForbidden)
	}
	if hasPath || !rt.Public {
		out = append(out, http.StatusNotFound)
	}
	if rt.Method != http.MethodGet {
		out = append(out, http.StatusConflict)
	}
	if rt.ifMatch() {
		out = append(out, http.StatusPreconditionFailed)
	}
	if hasBody {
		out = append(out, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType)
	}
	if hasBody || len(rt.Query) > 0 || hasPath {
		out = append(out, http.StatusUnprocessableEntity)
	}
	if !rt.Public {
		out = append(out, http.StatusTooManyRequests)
	}
	return append(out, http.StatusServiceUnavailable)
}

// document builds the whole document.
func (g *specGen) document(routes []Route) map[string]any {
	g.schemaOf(problemType)
	paths := map[string]any{}
	tagSet := map[string]bool{}
	for _, rt := range routes {
		// OpenAPI has no wildcard for the rest of a path ({path...}): the
		// parameter is documented as one that holds slashes.
		path := restParam.ReplaceAllString(rt.Path, "{$1}")
		item, _ := paths[path].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[path] = item
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		ok := map[string]any{"description": http.StatusText(status)}
		content := map[string]any{}
		if rt.Response != nil {
			content["application/json"] = map[string]any{"schema": g.schemaOf(reflect.TypeOf(rt.Response))}
		}
		for _, m := range rt.Media {
			content[m] = map[string]any{"schema": map[string]any{"type": "string", "format": mediaFormat(m)}}
		}
		if len(content) > 0 {
			ok["content"] = content
		}
		headers := map[string]any{}
		if status == http.StatusCreated && rt.location {
			headers["Location"] = map[string]any{"$ref": "#/components/headers/Location"}
		}
		if rt.etag() || rt.ifMatch() {
			headers["ETag"] = map[string]any{"$ref": "#/components/headers/ETag"}
		}
		if len(rt.Query) > 0 && rt.Response != nil && strings.HasPrefix(reflect.TypeOf(rt.Response).Name(), "List[") {
			headers["Link"] = map[string]any{"$ref": "#/components/headers/Link"}
		}
		if rt.idempotent() {
			headers["Idempotent-Replayed"] = map[string]any{"$ref": "#/components/headers/IdempotentReplayed"}
		}
		if len(headers) > 0 {
			ok["headers"] = headers
		}
		responses := map[string]any{strconv.Itoa(status): ok}
		for _, st := range errorStatuses(rt) {
			responses[strconv.Itoa(st)] = problemResponse(st)
		}
		tag := tagOf(rt.Path)
		tagSet[tag] = true
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"tags":        []any{tag},
			"responses":   responses,
		}
		if rt.Description != "" {
			op["description"] = rt.Description
		}
		if rt.Public {
			op["security"] = []any{}
		}
		params := []any{}
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			p := map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}}
			if strings.HasSuffix(m[0], "...}") {
				p["description"] = "The rest of the path, slashes included (C2SP tlog-tiles), sent unescaped."
			}
			params = append(params, p)
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
		if rt.idempotent() {
			params = append(params, map[string]any{"$ref": "#/components/parameters/IdempotencyKey"})
		}
		if rt.ifMatch() {
			params = append(params, map[string]any{"$ref": "#/components/parameters/IfMatch"})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if rt.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": g.schemaOf(reflect.TypeOf(rt.Request))}}}
		}
		item[strings.ToLower(rt.Method)] = op
	}
	var tags []any
	for _, t := range sortedKeys(tagSet) {
		tags = append(tags, map[string]any{"name": t, "description": tagDescriptions[t]})
	}
	responses := map[string]any{}
	for _, st := range []int{400, 401, 403, 404, 409, 412, 413, 415, 422, 429, 503} {
		r := map[string]any{"description": http.StatusText(st) + " (problem details, RFC 9457)",
			"content": map[string]any{"application/problem+json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Problem"}}}}
		switch st {
		case 429, 503:
			r["headers"] = map[string]any{"Retry-After": map[string]any{"$ref": "#/components/headers/RetryAfter"}}
		case 401:
			r["headers"] = map[string]any{"WWW-Authenticate": map[string]any{"description": "Bearer realm=\"chipgate\"", "schema": map[string]any{"type": "string"}}}
		}
		responses["Problem"+strconv.Itoa(st)] = r
	}
	return map[string]any{
		"openapi": OpenAPIVersion,
		"info": map[string]any{
			"title":       "chipgate API",
			"version":     APIVersion,
			"description": "Export-control program for controlled AI accelerators. Every error is application/problem+json (RFC 9457). Lists page by cursor (docs/API.md).",
			"license":     map[string]any{"name": "Proprietary", "url": "https://chipgate.invalid/license"},
		},
		"servers": []any{map[string]any{"url": "/", "description": "The server that serves this document"}},
		"tags":    tags,
		"paths":   paths,
		"components": map[string]any{
			"schemas":         g.schemas,
			"responses":       responses,
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "A chipgate token: Authorization: Bearer cg_…"}},
			"parameters": map[string]any{
				"IdempotencyKey": map[string]any{"name": IdempotencyHeader, "in": "header", "required": false,
					"description": "A key of the client's choosing (at most 200 bytes): a retry with the same key and body replays the first response and writes nothing twice.",
					"schema":      map[string]any{"type": "string", "minLength": 1, "maxLength": 200}, "example": "3b1f0c9e-retry-1"},
				"IfMatch": map[string]any{"name": "If-Match", "in": "header", "required": false,
					"description": "The ETag of the resource as last read: the change is made only if it is still current (412 otherwise).",
					"schema":      map[string]any{"type": "string"}},
			},
			"headers": map[string]any{
				"Location":           map[string]any{"description": "The created resource's URL.", "schema": map[string]any{"type": "string"}},
				"ETag":               map[string]any{"description": "The resource's version, for If-Match.", "schema": map[string]any{"type": "string"}},
				"Link":               map[string]any{"description": "The next page, rel=\"next\" (RFC 8288), when more follow.", "schema": map[string]any{"type": "string"}},
				"IdempotentReplayed": map[string]any{"description": "true when the response is the replay of an earlier request with the same Idempotency-Key.", "schema": map[string]any{"type": "string", "enum": []any{"true"}}},
				"RetryAfter":         map[string]any{"description": "Seconds to wait before retrying.", "schema": map[string]any{"type": "integer", "minimum": 0}},
			},
		},
		"security": []any{map[string]any{"bearer": []any{}}},
	}
}

// tagDescriptions describe the operations' groups.
var tagDescriptions = map[string]string{
	"health": "Liveness and the API's own description", "metrics": "Prometheus metrics (operators)",
	"me": "The caller", "parties": "Parties", "tokens": "The caller's tokens", "products": "The product catalog",
	"policy": "The rules in force", "lots": "Production lots", "applications": "Applications to become an approved customer",
	"licenses": "Export licenses", "permits": "Import permits", "hearings": "Demand hearings", "orders": "Orders and their decisions",
	"ledger": "The tamper-evident ledger", "tiles": "The ledger as a C2SP tlog-tiles log", "screen": "Restricted-party screening",
	"lists": "Restricted-party lists", "screening": "Screening reviews", "allocation-runs": "Allocation of supply",
	"outlook": "The supply outlook", "shipments": "Shipments, custody and the lab", "duty": "Duty and remittance",
	"checkins": "Device check-ins", "alerts": "Diversion alerts", "openapi.json": "This document",
}

// tagOf groups a path by its first segment under /api/v1.
func tagOf(path string) string {
	switch {
	case path == "/healthz":
		return "health"
	case path == "/metrics":
		return "metrics"
	case path == "/checkpoint" || strings.HasPrefix(path, "/tile/"):
		return "tiles"
	}
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/api/v1/"), "/")
	return seg
}

func mediaFormat(m string) string {
	if strings.HasPrefix(m, "application/octet-stream") {
		return "binary"
	}
	return "text"
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// pathParam matches a path wildcard, {name} or {name...} (the rest of the
// path, as the tile routes take it).
var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)(?:\.\.\.)?\}`)

// restParam matches a wildcard for the rest of the path.
var restParam = regexp.MustCompile(`\{([a-zA-Z_]+)\.\.\.\}`)

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
	rawType  = reflect.TypeOf(json.RawMessage{})
	// problemType is every error's body: Problem, whatever else is named so.
	problemType = reflect.TypeOf(Problem{})
)

// typeSchemas are the schemas of the types that write JSON their own way
// (a MarshalJSON), which reflection cannot see.
var typeSchemas = map[reflect.Type]map[string]any{
	timeType:                      {"type": "string", "format": "date-time"},
	uuidType:                      {"type": "string", "format": "uuid"},
	rawType:                       {"description": "Any JSON value."},
	reflect.TypeOf(policy.Date{}): {"type": "string", "format": "date", "example": "2026-01-15"},
	reflect.TypeOf(policy.Instant{}): {"type": "string", "example": "2026-01-15T00:01:00-05:00[America/New_York]",
		"description": "A day (2026-01-15) or a zoned instant as RFC 9557 writes it: local time, UTC offset and zone."},
	reflect.TypeOf(policy.Percent(0)):    {"type": "string", "pattern": `^[0-9]+(\.[0-9]+)?%$`, "example": "25%"},
	reflect.TypeOf(policy.Condition{}):   {"type": "string", "description": "A CEL expression."},
	reflect.TypeOf(allocation.Ratio{}):   {"type": "number", "minimum": 0, "description": "An exact ratio, as a decimal of up to 12 places.", "example": 0.5},
	reflect.TypeOf(domain.Rate(0)):       {"type": "integer", "format": "int64", "minimum": 0, "description": "Parts per million (250000 is 25%)."},
	reflect.TypeOf(domain.Money{}.Minor): {"type": "integer", "format": "int64"},
}

// enums are the values of the string types that the service checks.
var enums = map[reflect.Type][]string{
	reflect.TypeOf(domain.OrderStatus("")):       service.ListStates("orders"),
	reflect.TypeOf(domain.ApplicationStatus("")): service.ListStates("applications"),
	reflect.TypeOf(domain.GrantStatus("")):       service.ListStates("licenses"),
	reflect.TypeOf(domain.ShipmentStatus("")):    service.ListStates("shipments"),
	reflect.TypeOf(domain.AlertState("")):        service.ListStates("alerts"),
	reflect.TypeOf(domain.Role("")): {string(domain.RoleVendor), string(domain.RoleExportAuthority), string(domain.RoleImportAuthority),
		string(domain.RoleBuyer), string(domain.RoleLab), string(domain.RoleCarrier), string(domain.RoleAuditor)},
	reflect.TypeOf(domain.ExportStatus("")): {string(domain.NoLicenseRequired), string(domain.LicenseRequired), string(domain.Denied)},
}

// name is the schema name of a named type: its Go name, qualified by its
// package where another type has the same name; a generic List[T] is TList.
func (g *specGen) name(t reflect.Type) string {
	n := t.Name()
	if i := strings.IndexByte(n, '['); i >= 0 {
		if f, ok := t.FieldByName("Items"); ok {
			return g.name(f.Type.Elem()) + n[:i]
		}
		n = n[:i]
	}
	if g.qualify[n] && t != problemType { // the errors' schema keeps its plain name

		pkg := t.PkgPath()
		pkg = pkg[strings.LastIndexByte(pkg, '/')+1:]
		return pkg + "." + n
	}
	return n
}

// schemaOf returns a JSON Schema for t, registering named structs in the
// components and referring to them.
func (g *specGen) schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s, ok := typeSchemas[t]; ok {
		return clone(s)
	}
	switch t.Kind() {
	case reflect.String:
		s := map[string]any{"type": "string"}
		if vs, ok := enums[t]; ok {
			e := make([]any, len(vs))
			for i, v := range vs {
				e[i] = v
			}
			s["enum"] = e
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int64, reflect.Uint64:
		return map[string]any{"type": "integer", "format": "int64"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number", "format": "double"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.schemaOf(t.Elem())}
	case reflect.Interface:
		return map[string]any{"description": "Any JSON value."}
	case reflect.Struct:
		name := ""
		if t.Name() != "" {
			name = g.name(t)
			if other, ok := g.byName[name]; ok {
				if other != t {
					g.clashes[t.Name()] = true
				}
				return map[string]any{"$ref": "#/components/schemas/" + name}
			}
			g.byName[name] = t
			g.schemas[name] = map[string]any{} // placeholder against recursion
		}
		props := map[string]any{}
		var required []string
		g.addFields(t, props, &required)
		obj := map[string]any{"type": "object", "properties": props}
		if len(required) > 0 {
			sort.Strings(required)
			obj["required"] = required
		}
		if name == "" {
			return obj
		}
		g.schemas[name] = obj
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return map[string]any{}
}

func (g *specGen) addFields(t reflect.Type, props map[string]any, required *[]string) {
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
			g.addFields(ft, props, required)
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := g.schemaOf(f.Type)
		omit := strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero")
		if f.Type.Kind() == reflect.Pointer && !omit {
			// A nil pointer is written as null.
			if _, ref := s["$ref"]; ref {
				// OpenAPI 3.0 wants a type beside nullable; a pointer to a
				// struct is an object.
				s = map[string]any{"allOf": []any{s}}
				if f.Type.Elem().Kind() == reflect.Struct {
					s["type"] = "object"
				}
			}
			s["nullable"] = true
		}
		props[name] = s
		if !omit && f.Type.Kind() != reflect.Pointer {
			*required = append(*required, name)
		}
	}
}

func clone(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
