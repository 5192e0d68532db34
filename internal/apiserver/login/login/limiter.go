package login

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// failedLogins throttles password guessing per user name: a name may fail a few times in
// a row (burst), then once per interval; a success forgives its failures. Names are
// tracked whether or not the user exists, so throttling tells nothing either. At most
// maxTracked names are kept: past that, names that have recovered their whole burst are
// forgotten first (they are as if never seen), so a flood of made-up names costs bounded
// memory without freeing a throttled name.
type failedLogins struct {
	interval   time.Duration
	burst      int
	maxTracked int
	now        func() time.Time

	mu    sync.Mutex
	users map[string]*rate.Limiter
}

func newFailedLogins(interval time.Duration, burst, maxTracked int) *failedLogins {
	return &failedLogins{interval: interval, burst: burst, maxTracked: maxTracked, now: time.Now, users: map[string]*rate.Limiter{}}
}

// wait is how long user must wait before another attempt; 0 lets them try now.
func (f *failedLogins) wait(user string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	l, ok := f.users[user]
	if !ok {
		return 0
	}
	now := f.now()
	if l.TokensAt(now) >= 1 {
		return 0
	}
	r := l.ReserveN(now, 1)
	defer r.CancelAt(now)
	return r.DelayFrom(now)
}

// failed counts a failed attempt of user.
func (f *failedLogins) failed(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.now()
	l, ok := f.users[user]
	if !ok {
		if len(f.users) >= f.maxTracked {
			f.forgetRecovered(now)
		}
		l = rate.NewLimiter(rate.Every(f.interval), f.burst)
		f.users[user] = l
	}
	l.AllowN(now, 1)
}

// succeeded forgives user's failures.
func (f *failedLogins) succeeded(user string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.users, user)
}

func (f *failedLogins) forgetRecovered(now time.Time) {
	for user, l := range f.users {
		if l.TokensAt(now) >= float64(f.burst) {
			delete(f.users, user)
		}
	}
}

// tracked is how many names are remembered (for tests).
func (f *failedLogins) tracked() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.users)
}
