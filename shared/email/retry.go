package email

import (
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
)

// Backoff bounds the retries of a throttled send (Attempts: the most
// SendEmail calls for one message, the first included). The zero value
// means DefaultBackoff.
type Backoff = backoff.Policy

// DefaultBackoff makes at most 5 attempts, waiting about 0.2, 0.4, 0.8 and
// 1.6 s between them (3 s in all, well inside a Lambda's time): SES's
// sending rate is per second, so a throttled send usually goes through on
// the next second.
var DefaultBackoff = Backoff{Attempts: 5, Base: 200 * time.Millisecond, Max: 5 * time.Second}
