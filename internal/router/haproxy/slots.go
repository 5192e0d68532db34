package haproxy

import "strconv"

// Slots keeps which endpoint each server slot of each backend holds, across renders, so
// that an endpoint keeps its slot while it lasts: endpoints coming and going within a
// service's slots then change server addresses and states only, which the runtime API
// applies without a reload. A service gets twice the slots it needs (at least 2), so
// growing by up to as many endpoints again needs no reload either.
type Slots struct {
	held map[string][]*Endpoint // backend/service index → endpoint per slot (nil: free)
	used map[string]bool        // keys assigned since the last Prune
}

// NewSlots returns an empty assignment.
func NewSlots() *Slots { return &Slots{held: map[string][]*Endpoint{}, used: map[string]bool{}} }

// Assign returns the slots of service number svc of backend, each with its endpoint or
// nil: endpoints that had a slot keep it, new ones take free slots, and the slots are
// doubled when they run out.
func (s *Slots) Assign(backend string, svc int, endpoints []Endpoint) []*Endpoint {
	key := backend + "/" + strconv.Itoa(svc)
	s.used[key] = true
	old := s.held[key]
	want := map[Endpoint]bool{}
	for _, e := range endpoints {
		want[e] = true
	}
	slots := make([]*Endpoint, len(old))
	for i, e := range old {
		if e != nil && want[*e] {
			slots[i] = e
			delete(want, *e)
		}
	}
	if need := len(endpoints); len(slots) < need || len(slots) < 2 {
		n := max(2, len(slots))
		for n < need*2 {
			n *= 2
		}
		slots = append(slots, make([]*Endpoint, n-len(slots))...)
	}
	free := 0
	for _, e := range endpoints { // in the given order, for stable renders
		if !want[e] {
			continue
		}
		for slots[free] != nil {
			free++
		}
		e := e
		slots[free] = &e
		delete(want, e)
	}
	s.held[key] = slots
	return slots
}

// Prune forgets the backends not assigned since the last Prune (deleted routes, services
// no longer behind a route).
func (s *Slots) Prune() {
	for key := range s.held {
		if !s.used[key] {
			delete(s.held, key)
		}
	}
	s.used = map[string]bool{}
}
