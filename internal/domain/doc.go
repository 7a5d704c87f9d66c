// Package domain is the language of chipgate: parties and their roles, users
// and tokens, products and their specifications, production lots, money, and
// the audit record every state change leaves behind.
//
// It holds types, their Validate methods and the closed set of error codes
// the rest of the system speaks. It imports no SQL, no HTTP and reads no
// clock: callers pass times in.
package domain
