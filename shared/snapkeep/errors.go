package snapkeep

import "errors"

// Errors the stores and services return, wrapped with context; test for
// them with errors.Is.
var (
	// ErrNotFound means the policy, customer or run does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means a conditional write lost to another writer (for
	// example a second delivery of the same slot).
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input breaks a rule; the wrapping error names
	// the field and the rule.
	ErrInvalid = errors.New("invalid")
)
