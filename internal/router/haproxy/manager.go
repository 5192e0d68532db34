package haproxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/go-logr/logr"
)

// Manager keeps HAProxy serving a set of routes: Apply renders them, applies what changed
// through the runtime API when only servers changed, and otherwise checks the new
// configuration with `haproxy -c` and reloads. A route HAProxy refuses is left out with
// the reason; the others are served.
type Manager struct {
	Settings Settings
	// Binary is the haproxy program.
	Binary string
	Log    logr.Logger

	mu      sync.Mutex
	proc    *Process
	slots   *Slots
	applied Files
	// appliedStructure is the applied configuration without its servers' addresses,
	// weights and states: when a new one is the same, the runtime API is enough.
	appliedStructure []byte
	appliedServers   map[string]server // "backend/server" → server
	// reloads counts HAProxy's starts and reloads, runtimeUpdates the changes applied
	// without one.
	reloads, runtimeUpdates int
}

// Counts returns how many times HAProxy was started or reloaded, and how many changes the
// runtime API applied without a reload.
func (m *Manager) Counts() (reloads, runtimeUpdates int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloads, m.runtimeUpdates
}

// Result is what Apply made of each route.
type Result struct {
	// Rejected are the routes left out, by Key, with why.
	Rejected map[string]error
	// Reloaded tells whether HAProxy was (re)started; false when the runtime API applied
	// the change or nothing changed.
	Reloaded bool
}

// Apply makes HAProxy serve routes (starting it the first time).
func (m *Manager) Apply(ctx context.Context, routes []*Route) (Result, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.slots == nil {
		m.slots = NewSlots()
	}
	res := Result{Rejected: map[string]error{}}
	var valid []*Route
	for _, r := range routes {
		if err := r.Validate(); err != nil {
			res.Rejected[r.Key()] = err
			continue
		}
		valid = append(valid, r)
	}
	if m.proc != nil && !m.proc.Running() {
		m.Log.Info("haproxy exited; starting it again")
		m.proc = nil
	}
	// Only servers changed (endpoints, weights): the runtime API applies them, with no
	// check, since HAProxy accepted this structure already and Validate checked the
	// addresses. Otherwise HAProxy checks the configuration first (leaving out routes it
	// refuses, after which the structure may be the applied one again).
	files, err := Render(m.Settings, valid, m.slots)
	if err != nil {
		return res, err
	}
	if !bytes.Equal(structureOf(files), m.appliedStructure) {
		if files, err = m.renderChecked(ctx, valid, res.Rejected); err != nil {
			return res, err
		}
	}
	m.slots.Prune()
	structure := structureOf(files)
	if m.proc != nil && bytes.Equal(structure, m.appliedStructure) {
		err := m.applyRuntime(ctx, files)
		if err == nil {
			return res, m.write(files)
		}
		m.Log.Info("runtime API update failed, reloading", "error", err.Error())
	}
	if err := m.write(files); err != nil {
		return res, err
	}
	if err := m.startOrReload(ctx); err != nil {
		return res, err
	}
	m.appliedStructure, m.appliedServers = structure, serversOf(files)
	res.Reloaded = true
	return res, nil
}

// renderChecked renders valid routes and checks the result with HAProxy; when HAProxy
// refuses it, it finds the routes to blame by halves (each half that passes joins the
// known good routes the next halves are checked with) and renders the others.
func (m *Manager) renderChecked(ctx context.Context, routes []*Route, rejected map[string]error) (Files, error) {
	files, err := m.check(ctx, routes)
	var refused *RefusedError
	if err == nil || !errors.As(err, &refused) {
		return files, err // HAProxy's verdict, or no verdict at all (a cancelled context)
	}
	m.Log.Info("haproxy refused the configuration; finding the routes to blame", "error", err.Error())
	var good []*Route
	var bad func(candidates []*Route) error
	bad = func(candidates []*Route) error {
		if len(candidates) == 0 {
			return nil
		}
		if _, err := m.check(ctx, append(append([]*Route(nil), good...), candidates...)); err == nil {
			good = append(good, candidates...)
			return nil
		} else if !errors.As(err, &refused) {
			return err
		} else if len(candidates) == 1 {
			rejected[candidates[0].Key()] = fmt.Errorf("HAProxy refused the route's configuration: %s", err)
			return nil
		}
		half := len(candidates) / 2
		if err := bad(candidates[:half]); err != nil {
			return err
		}
		return bad(candidates[half:])
	}
	if _, err := m.check(ctx, nil); err != nil {
		return nil, fmt.Errorf("haproxy refuses even a configuration without routes: %w", err)
	}
	if err := bad(routes); err != nil {
		return nil, err
	}
	return m.check(ctx, good)
}

// check renders routes into a scratch directory laid out like the live one and has
// HAProxy check it there; the files returned are rendered for the live directory.
func (m *Manager) check(ctx context.Context, routes []*Route) (Files, error) {
	files, err := Render(m.Settings, routes, m.slots)
	if err != nil {
		return nil, err
	}
	scratch, err := os.MkdirTemp(m.Settings.Dir, ".check-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scratch)
	s := m.Settings
	s.Dir = scratch
	scratchFiles, err := Render(s, routes, m.slots)
	if err != nil {
		return nil, err
	}
	if err := writeFiles(scratch, scratchFiles); err != nil {
		return nil, err
	}
	if err := Check(ctx, m.Binary, scratch); err != nil {
		var refused *RefusedError
		if errors.As(err, &refused) {
			refused.Output = firstAlert(refused.Output, scratch)
		}
		return nil, err
	}
	return files, nil
}

// alertPrefix starts HAProxy's messages: "[ALERT]    (123) : config : ".
var alertPrefix = regexp.MustCompile(`^\[ALERT\] +\([0-9]+\) : (config : )?`)

// firstAlert is HAProxy's first complaint in its output, without the check directory's
// path.
func firstAlert(out, dir string) string {
	for _, line := range strings.Split(out, "\n") {
		if loc := alertPrefix.FindStringIndex(strings.TrimSpace(line)); loc != nil {
			return strings.ReplaceAll(strings.TrimSpace(line)[loc[1]:], dir+"/", "")
		}
	}
	return strings.TrimSpace(out)
}

func (m *Manager) startOrReload(ctx context.Context) error {
	if m.proc == nil {
		p := &Process{Binary: m.Binary, Dir: m.Settings.Dir, RunDir: m.Settings.RunDir}
		if err := p.Start(ctx); err != nil {
			return err
		}
		m.proc = p
		m.reloads++
		return nil
	}
	if err := m.proc.Reload(ctx); err != nil {
		return err
	}
	m.reloads++
	return nil
}

// Crashed tells whether HAProxy ran and has exited: the next Apply starts it again.
func (m *Manager) Crashed() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil && !m.proc.Running()
}

// Stop stops HAProxy.
func (m *Manager) Stop() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return nil
	}
	err := m.proc.Stop(30e9)
	m.proc = nil
	return err
}

// serverLine matches a rendered server line: its name, address, weight and the rest.
var serverLine = regexp.MustCompile(`^  server (s[0-9]+-[0-9]+) (\S+) weight ([0-9]+)( cookie \S+)?( disabled)?(.*)$`)

// structureOf is the configuration with its slots' addresses, weights and states left out.
func structureOf(files Files) []byte {
	var out bytes.Buffer
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(&out, "== %s\n", name)
		if name != configFile {
			out.Write(files[name])
			continue
		}
		for _, line := range strings.Split(string(files[name]), "\n") {
			if m := serverLine.FindStringSubmatch(line); m != nil {
				line = "  server " + m[1] + m[4] + m[6]
			}
			out.WriteString(line + "\n")
		}
	}
	return out.Bytes()
}

// serversOf lists the configuration's servers by "backend/server".
func serversOf(files Files) map[string]server {
	out := map[string]server{}
	backend := ""
	for _, line := range strings.Split(string(files[configFile]), "\n") {
		if b, ok := strings.CutPrefix(line, "backend "); ok {
			backend = b
			continue
		}
		if m := serverLine.FindStringSubmatch(line); m != nil {
			var w int
			fmt.Sscan(m[3], &w)
			out[backend+"/"+m[1]] = server{Name: m[1], Addr: m[2], Weight: w, Disabled: m[5] != ""}
		}
	}
	return out
}

// applyRuntime sets the servers that changed through the runtime API.
func (m *Manager) applyRuntime(ctx context.Context, files Files) error {
	next := serversOf(files)
	var commands []string
	for key, s := range next {
		old, ok := m.appliedServers[key]
		if !ok {
			return fmt.Errorf("server %s is new", key)
		}
		if s == old {
			continue
		}
		if s.Disabled {
			commands = append(commands, "set server "+key+" state maint")
			continue
		}
		host, port, err := splitAddr(s.Addr)
		if err != nil {
			return err
		}
		commands = append(commands,
			"set server "+key+" addr "+host+" port "+port,
			fmt.Sprintf("set server %s weight %d", key, s.Weight),
			"set server "+key+" state ready")
	}
	for _, c := range commands {
		out, err := m.proc.Command(ctx, c)
		if err != nil {
			return fmt.Errorf("%s: %w", c, err)
		}
		if out = strings.TrimSpace(out); out != "" && !strings.Contains(out, "IP changed") && !strings.Contains(out, "no need to change") &&
			!strings.Contains(out, "port changed") {
			return fmt.Errorf("%s: %s", c, out)
		}
	}
	if len(commands) > 0 {
		m.runtimeUpdates++
	}
	m.appliedServers = next
	return nil
}

func splitAddr(addr string) (string, string, error) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return "", "", errors.New("no port in " + addr)
	}
	return strings.Trim(addr[:i], "[]"), addr[i+1:], nil
}

// write replaces the live files with files, removing those no longer rendered.
func (m *Manager) write(files Files) error {
	if err := writeFiles(m.Settings.Dir, files); err != nil {
		return err
	}
	for name := range m.applied {
		if _, ok := files[name]; !ok {
			if err := os.Remove(filepath.Join(m.Settings.Dir, name)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
	}
	m.applied = files
	return nil
}

// writeFiles writes each file atomically (a new file renamed into place): HAProxy starting
// at any moment reads whole files.
func writeFiles(dir string, files Files) error {
	for name, data := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
	}
	return nil
}
