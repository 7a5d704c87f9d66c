package domain

import (
	"errors"
	"fmt"
)

// Error codes: a small closed set that every layer speaks. The HTTP layer maps
// each to one status in one place.
const (
	EINVALID      = "invalid"      // the request is malformed or breaks a rule
	ENOTFOUND     = "not_found"    // the thing does not exist (or the caller may not know it does)
	ECONFLICT     = "conflict"     // the state changed underneath, or a unique key is taken
	EUNAUTHORIZED = "unauthorized" // no valid credentials
	EFORBIDDEN    = "forbidden"    // valid credentials, not allowed
	EUNAVAILABLE  = "unavailable"  // a dependency (the database) is busy or down; retry
	EINTERNAL     = "internal"     // a bug or an unexpected failure; never shown in detail
	// EStateTampered: a state row a command read disagrees with the ledger
	// record that last changed it (someone wrote the database behind the
	// program's back); the command decided nothing.
	EStateTampered = "state_tampered"
	// EPRECONDITION: the record changed since the version the caller
	// made its change conditional on (If-Match).
	EPRECONDITION = "precondition_failed"
)

// FieldError names one invalid field by its path in the request body, for
// example "owners[2].share".
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

// Error is an application error with a code from the closed set, a message
// safe to show to the caller, and for EINVALID the offending fields.
type Error struct {
	Code    string
	Message string
	Fields  []FieldError
	// Err is the underlying cause, kept for logs; it is never shown to clients.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error for one field.
func Invalid(path, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Code: EINVALID, Message: path + ": " + msg, Fields: []FieldError{{Path: path, Message: msg}}}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for
// any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the client-safe message of err: the *Error's message,
// or a generic text for internal errors so that nothing internal leaks.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) && e.Code != EINTERNAL {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field errors of an EINVALID error, if any.
func ErrorFields(err error) []FieldError {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}

// Problems collects field errors during validation.
type Problems []FieldError

// Add records a problem with the field at path.
func (p *Problems) Add(path, format string, args ...any) {
	*p = append(*p, FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

// Err returns nil when there are no problems, else one EINVALID *Error whose
// message names the first field.
func (p Problems) Err() error {
	if len(p) == 0 {
		return nil
	}
	msg := p[0].Path + ": " + p[0].Message
	if len(p) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(p)-1)
	}
	return &Error{Code: EINVALID, Message: msg, Fields: p}
}
