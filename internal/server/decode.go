package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/chipgate/chipgate/internal/domain"
)

// decode reads a JSON request body into v. It refuses a body that is not
// application/json (415), larger than MaxBodyBytes (413), not UTF-8 or not
// one JSON value (400), with unknown fields or values of the wrong type (422,
// naming the field).
func decode(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
		return &httpError{status: http.StatusUnsupportedMediaType, code: domain.EINVALID, msg: "the body must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &httpError{status: http.StatusRequestEntityTooLarge, code: domain.EINVALID, msg: fmt.Sprintf("the body exceeds %d bytes", MaxBodyBytes)}
		}
		return &httpError{status: http.StatusBadRequest, code: domain.EINVALID, msg: "the body could not be read"}
	}
	if !utf8.Valid(body) {
		return &httpError{status: http.StatusBadRequest, code: domain.EINVALID, msg: "the body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if dec.More() {
		return &httpError{status: http.StatusBadRequest, code: domain.EINVALID, msg: "the body holds more than one JSON value"}
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return &httpError{status: http.StatusBadRequest, code: domain.EINVALID, msg: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &httpError{status: http.StatusBadRequest, code: domain.EINVALID, msg: "the body is empty or cut short"}
	case errors.As(err, &typ):
		path := typ.Field
		if path == "" {
			path = "(body)"
		}
		return domain.Invalid(path, "must be %s", jsonKind(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return domain.Invalid(name, "unknown field")
	}
	return &httpError{status: http.StatusBadRequest, code: domain.EINVALID, msg: "the body is not valid JSON: " + err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer in range"
	case "float32", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return "of another type"
}
