package snapkeep

import (
	"errors"
	"fmt"
	"time"
)

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

// LockedError says a resource lock is held by another owner until Until.
// It matches ErrLocked with errors.Is.
type LockedError struct {
	// Key is the lock, e.g. "droplet:3164444".
	Key string
	// Until is when the holder's lock lapses.
	Until time.Time
}

// ErrLocked means a resource lock is held by another owner.
var ErrLocked = errors.New("locked")

// Error implements error.
func (e *LockedError) Error() string {
	return fmt.Sprintf("%s is locked by another run until %s", e.Key, e.Until.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Lock is a short, expiring lock on a DigitalOcean resource, taken in the
// same transaction as a run write: snapkeep's own snapshot requests for one
// droplet are serialised by it, so an action that starts while a run holds
// it can only be that run's.
type Lock struct {
	// Key is the resource's key, e.g. "droplet:3164444".
	Key string
	// Owner is the run id taking it.
	Owner string
	// Now is the time of taking it: a lock whose Until is not after Now
	// has lapsed and may be taken.
	Now time.Time
	// Until is when the lock lapses.
	Until time.Time
}
