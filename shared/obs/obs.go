// Package obs sets up structured logging and CloudWatch Embedded Metric
// Format (EMF) metrics. Both write JSON lines to one writer (stdout on
// Lambda), so metrics cost no API calls.
package obs

import (
	"encoding/json"
	"io"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
)

// ParseLevel maps DEBUG|INFO|WARN|ERROR (any case) to a level; unknown is INFO.
func ParseLevel(s string) slog.Level {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// NewLogger returns a JSON logger. Message text and secrets never go to it at
// info level: callers log IDs, sizes and outcomes, and put content at debug.
func NewLogger(w io.Writer, level string, attrs ...slog.Attr) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: ParseLevel(level)})
	return slog.New(h.WithAttrs(attrs))
}

// Metrics emits EMF records. The zero value is a no-op.
type Metrics struct {
	mu        sync.Mutex
	w         io.Writer
	namespace string
	service   string
	now       func() time.Time
}

// NewMetrics writes to w under namespace, with a Service dimension.
func NewMetrics(w io.Writer, namespace, service string) *Metrics {
	return &Metrics{w: w, namespace: namespace, service: service, now: time.Now}
}

// Count records value for metric name with optional extra dimensions
// (low-cardinality values only: source, outcome, never IDs).
func (m *Metrics) Count(name string, value float64, dims map[string]string) {
	m.emit(name, value, "Count", dims)
}

// Millis records a duration in milliseconds.
func (m *Metrics) Millis(name string, d time.Duration, dims map[string]string) {
	m.emit(name, float64(d.Microseconds())/1000, "Milliseconds", dims)
}

func (m *Metrics) emit(name string, value float64, unit string, dims map[string]string) {
	if m == nil || m.w == nil {
		return
	}
	keys := make([]string, 0, len(dims)+1)
	rec := map[string]any{name: value, "Service": m.service}
	keys = append(keys, "Service")
	for k, v := range dims {
		// A dimension named like the metric, Service or _aws would overwrite
		// that key and make the record invalid EMF (or list Service twice).
		if k == name || k == "Service" || k == "_aws" {
			continue
		}
		rec[k] = v
		keys = append(keys, k)
	}
	sort.Strings(keys[1:])
	rec["_aws"] = map[string]any{
		"Timestamp": m.now().UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  m.namespace,
			"Dimensions": [][]string{keys},
			"Metrics":    []any{map[string]string{"Name": name, "Unit": unit}},
		}},
	}
	b, err := json.Marshal(rec)
	if err != nil {
		return
	}
	b = append(b, '\n')
	m.mu.Lock()
	defer m.mu.Unlock()
	_, _ = m.w.Write(b)
}
