package slack

import (
	"time"

	"github.com/snapkeep/snapkeep/shared/backoff"
)

// Backoff bounds Post's retries of 429 without Retry-After, 5xx and
// network failures (Attempts: the most HTTP requests for one post, the
// first included). The zero value means DefaultBackoff.
type Backoff = backoff.Policy

// DefaultBackoff makes at most 4 attempts, waiting about 1, 2 and 4 s
// between them: Slack's limits are per second, and an outage that lasts
// longer is better left to the caller's next try.
var DefaultBackoff = Backoff{Attempts: 4, Base: time.Second, Max: 8 * time.Second}
