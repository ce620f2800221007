// Package obs sets up structured logging and CloudWatch Embedded Metric
// Format (EMF) metrics. Both write JSON lines to one writer (stdout on
// Lambda), so metrics cost no API calls.
package obs

import (
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// LevelFatal is Lambda's FATAL, above slog's levels: a filter at FATAL
// keeps only records marked FATAL.
const LevelFatal = slog.LevelError + 4

// ParseLevel maps TRACE|DEBUG|INFO|WARN|ERROR|FATAL (any case; Lambda's
// application log levels) to a level; unknown is INFO, as Lambda treats it.
func ParseLevel(s string) slog.Level {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN", "WARNING":
		return slog.LevelWarn
	case "ERROR":
		return slog.LevelError
	case "FATAL":
		return LevelFatal
	default:
		return slog.LevelInfo
	}
}

// NewLogger returns a JSON logger. Message text and secrets never go to it at
// info level: callers log IDs, sizes and outcomes, and put content at debug.
// Its time key is "timestamp" (RFC 3339): Lambda's log-level filtering
// reads "level" and "timestamp", and files a line without a valid
// timestamp as INFO, which a WARN or ERROR filter drops.
func NewLogger(w io.Writer, level string, attrs ...slog.Attr) *slog.Logger {
	h := slog.NewJSONHandler(w, &slog.HandlerOptions{Level: ParseLevel(level), ReplaceAttr: lambdaKeys})
	return slog.New(h.WithAttrs(attrs))
}

func lambdaKeys(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		a.Key = "timestamp"
	}
	return a
}

// Metrics emits EMF records. The zero value is a no-op.
//
// A metric is a log line, so a log-level filter could drop it: Lambda's
// application log filter reads each line's "level" and files a line
// without one as INFO, so with ApplicationLogLevel WARN every metric would
// vanish. Each record therefore carries a "level" that passes every filter
// the output is known to go through (see NewMetrics) and a "timestamp".
//
// Each record is published under two dimension sets: Service with the
// call's dimensions (the dashboards' view, per source or kind), and Service
// alone (what the template's alarms watch, whatever the other dimensions).
type Metrics struct {
	mu        sync.Mutex
	buf       []byte   // the record being written (under mu)
	keys      []string // its dimension names (under mu)
	top       []string // its top-level keys (under mu)
	w         io.Writer
	namespace string
	service   string
	level     string
	now       func() time.Time
}

// NewMetrics writes to w under namespace, with a Service dimension.
// filters are the log levels the output may be filtered at — the
// function's LOG_LEVEL and Lambda's AWS_LAMBDA_LOG_LEVEL — and records are
// marked with the least severe level that passes all of them: INFO, unless
// a filter is stricter.
func NewMetrics(w io.Writer, namespace, service string, filters ...string) *Metrics {
	return &Metrics{w: w, namespace: namespace, service: service, level: MetricLevel(filters...), now: time.Now}
}

// MetricLevel is the level a metric record is marked with to pass log
// filters at the given levels (empty ones are ignored): INFO, WARN, ERROR
// or FATAL.
func MetricLevel(filters ...string) string {
	l := slog.LevelInfo
	for _, f := range filters {
		if f != "" {
			l = max(l, ParseLevel(f))
		}
	}
	switch {
	case l >= LevelFatal:
		return "FATAL"
	case l >= slog.LevelError:
		return "ERROR"
	case l >= slog.LevelWarn:
		return "WARN"
	default:
		return "INFO"
	}
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

// reserved are the record's own keys; a dimension of that name is dropped,
// and a metric of that name is not recorded (it would overwrite that key).
var reserved = map[string]bool{"Service": true, "_aws": true, "level": true, "timestamp": true}

// maxKeptBuffer bounds the encoding buffer a Metrics keeps between
// records: a record with outsized dimension values is encoded, and its
// buffer left to the collector.
const maxKeptBuffer = 16 << 10

func (m *Metrics) emit(name string, value float64, unit string, dims map[string]string) {
	if m == nil || m.w == nil || reserved[name] || math.IsNaN(value) || math.IsInf(value, 0) {
		return // JSON has no NaN or infinity: the record could not be read
	}
	// Every request emits a few records, so they are encoded into one
	// reused buffer (see emf.go): the maps encoding/json needed were about
	// 35 allocations a record, the most of any part of a warm request.
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.record(name, value, unit, dims)
	var b []byte
	b, m.top = encodeRecord(m.buf[:0], m.top[:0], &r)
	if b == nil {
		return
	}
	b = append(b, '\n')
	if cap(b) <= maxKeptBuffer {
		m.buf = b
	} else {
		m.buf = nil
	}
	_, _ = m.w.Write(b)
}

// record is the record of one metric, its dimension names in m.keys
// (under m.mu).
func (m *Metrics) record(name string, value float64, unit string, dims map[string]string) record {
	keys := append(m.keys[:0], "Service")
	for k := range dims {
		// A dimension named like the metric or one of the record's own keys
		// would overwrite that key and make the record invalid EMF (or list
		// Service twice).
		if k == name || reserved[k] {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys[1:])
	m.keys = keys
	return record{
		namespace: m.namespace, service: m.service, level: m.level,
		name: name, unit: unit, value: value, keys: keys, dims: dims, now: m.now(),
	}
}
