package obs

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crmbridge/crmbridge/shared/obs/obstest"
)

func TestParseLevel(t *testing.T) {
	tests := []struct {
		in   string
		want slog.Level
	}{
		{"DEBUG", slog.LevelDebug},
		{"debug", slog.LevelDebug},
		{" Debug\n", slog.LevelDebug},
		{"INFO", slog.LevelInfo},
		{"info", slog.LevelInfo},
		{"WARN", slog.LevelWarn},
		{"warning", slog.LevelWarn},
		{"Warning", slog.LevelWarn},
		{"ERROR", slog.LevelError},
		{"error", slog.LevelError},
		{"", slog.LevelInfo},
		{"trace", slog.LevelDebug},
		{"FATAL", LevelFatal},
		{"fatal", LevelFatal},
		{"verbose", slog.LevelInfo},
		{"-4", slog.LevelInfo},
	}
	for _, tt := range tests {
		if got := ParseLevel(tt.in); got != tt.want {
			t.Errorf("ParseLevel(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, "warn", slog.String("function", "webhook-message"))
	log.Info("dropped")
	log.Warn("kept", "pcid", "generic:acme:1")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("got %d lines, want 1 (info filtered at warn): %q", len(lines), buf.String())
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &rec); err != nil {
		t.Fatalf("log line is not JSON: %v", err)
	}
	if rec["msg"] != "kept" || rec["level"] != "WARN" || rec["function"] != "webhook-message" || rec["pcid"] != "generic:acme:1" {
		t.Fatalf("record %v", rec)
	}
	// Lambda's filter reads "timestamp" (RFC 3339); "time" would make it
	// file the line as INFO.
	if ts, _ := rec["timestamp"].(string); !validTimestamp(ts) {
		t.Fatalf("timestamp %v is not RFC 3339", rec["timestamp"])
	}
	if _, ok := rec["time"]; ok {
		t.Fatalf("record has both time and timestamp: %v", rec)
	}
}

// emfRecord is one parsed EMF line.
type emfRecord struct {
	raw       map[string]any
	namespace string
	dims      [][]string
	metrics   []map[string]string
	timestamp float64
}

// parseEMF parses the lines in buf and checks each is a well-formed EMF
// record: the _aws metadata lists one metric and one dimension set, every
// dimension is a string key of the record and every metric a number key.
func parseEMF(t *testing.T, buf string) []emfRecord {
	t.Helper()
	var out []emfRecord
	for _, line := range strings.Split(strings.TrimSuffix(buf, "\n"), "\n") {
		if line == "" {
			continue
		}
		var raw map[string]any
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		var meta struct {
			AWS struct {
				Timestamp         float64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []map[string]string
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal([]byte(line), &meta); err != nil {
			t.Fatalf("line %q: _aws: %v", line, err)
		}
		cwm := meta.AWS.CloudWatchMetrics
		if len(cwm) != 1 {
			t.Fatalf("line %q: %d CloudWatchMetrics entries, want 1", line, len(cwm))
		}
		r := emfRecord{raw: raw, namespace: cwm[0].Namespace, dims: cwm[0].Dimensions, metrics: cwm[0].Metrics, timestamp: meta.AWS.Timestamp}
		if len(r.dims) < 1 || len(r.metrics) != 1 {
			t.Fatalf("line %q: dimensions %v metrics %v", line, r.dims, r.metrics)
		}
		// The full set, and the Service roll-up when there is more than Service.
		switch {
		case len(r.dims[0]) == 1 && len(r.dims) != 1,
			len(r.dims[0]) > 1 && (len(r.dims) != 2 || strings.Join(r.dims[1], ",") != "Service"):
			t.Fatalf("line %q: dimension sets %v, want the full set and [Service]", line, r.dims)
		}
		if lvl, _ := raw["level"].(string); lvl == "" {
			t.Fatalf("line %q: no level (a log filter would drop it as INFO)", line)
		}
		if ts, _ := raw["timestamp"].(string); !validTimestamp(ts) {
			t.Fatalf("line %q: timestamp is not RFC 3339", line)
		}
		seen := map[string]bool{}
		for _, d := range r.dims[0] {
			if seen[d] {
				t.Fatalf("line %q: dimension %q listed twice", line, d)
			}
			seen[d] = true
			if _, ok := raw[d].(string); !ok {
				t.Fatalf("line %q: dimension %q is not a string key of the record", line, d)
			}
		}
		name := r.metrics[0]["Name"]
		if _, ok := raw[name].(float64); !ok {
			t.Fatalf("line %q: metric %q is not a number key of the record", line, name)
		}
		if seen[name] {
			t.Fatalf("line %q: %q is both a metric and a dimension", line, name)
		}
		// Every key other than _aws, level, timestamp and the metric is a dimension.
		for k := range raw {
			if k != "_aws" && k != "level" && k != "timestamp" && k != name && !seen[k] {
				t.Fatalf("line %q: key %q is neither a metric nor a dimension", line, k)
			}
		}
		out = append(out, r)
	}
	return out
}

func TestMetricsEMF(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC)
	tests := []struct {
		name     string
		emit     func(m *Metrics)
		metric   string
		unit     string
		value    float64
		wantDims []string
		wantVals map[string]string
	}{
		{name: "count without dimensions", emit: func(m *Metrics) { m.Count("Inbound", 1, nil) },
			metric: "Inbound", unit: "Count", value: 1, wantDims: []string{"Service"}, wantVals: map[string]string{"Service": "source-inbound"}},
		{name: "count with sorted dimensions", emit: func(m *Metrics) {
			m.Count("Delivered", 3, map[string]string{"Source": "generic", "Outcome": "ok"})
		}, metric: "Delivered", unit: "Count", value: 3, wantDims: []string{"Service", "Outcome", "Source"},
			wantVals: map[string]string{"Service": "source-inbound", "Source": "generic", "Outcome": "ok"}},
		{name: "millis", emit: func(m *Metrics) { m.Millis("Latency", 1500*time.Microsecond, map[string]string{"Route": "chat"}) },
			metric: "Latency", unit: "Milliseconds", value: 1.5, wantDims: []string{"Service", "Route"}, wantVals: map[string]string{"Route": "chat"}},
		// Dimensions that collide with the record's own keys must not corrupt
		// it: the metric value stays a number, Service stays the service and
		// _aws stays the metadata.
		{name: "dimension named like the metric is dropped", emit: func(m *Metrics) {
			m.Count("Errors", 2, map[string]string{"Errors": "x", "Kind": "http"})
		}, metric: "Errors", unit: "Count", value: 2, wantDims: []string{"Service", "Kind"}, wantVals: map[string]string{"Kind": "http"}},
		{name: "Service dimension is not duplicated", emit: func(m *Metrics) {
			m.Count("Errors", 1, map[string]string{"Service": "other"})
		}, metric: "Errors", unit: "Count", value: 1, wantDims: []string{"Service"}, wantVals: map[string]string{"Service": "source-inbound"}},
		{name: "_aws dimension is dropped", emit: func(m *Metrics) {
			m.Count("Errors", 1, map[string]string{"_aws": "oops"})
		}, metric: "Errors", unit: "Count", value: 1, wantDims: []string{"Service"}},
		{name: "level and timestamp dimensions are dropped", emit: func(m *Metrics) {
			m.Count("Errors", 1, map[string]string{"level": "DEBUG", "timestamp": "x", "Kind": "a"})
		}, metric: "Errors", unit: "Count", value: 1, wantDims: []string{"Service", "Kind"}, wantVals: map[string]string{"level": "INFO", "Kind": "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			m := NewMetrics(&buf, "crmbridge", "source-inbound")
			m.now = func() time.Time { return at }
			tt.emit(m)
			recs := parseEMF(t, buf.String())
			if len(recs) != 1 {
				t.Fatalf("%d records", len(recs))
			}
			r := recs[0]
			if r.namespace != "crmbridge" {
				t.Errorf("namespace %q", r.namespace)
			}
			if int64(r.timestamp) != at.UnixMilli() {
				t.Errorf("timestamp %v, want %d", r.timestamp, at.UnixMilli())
			}
			if r.metrics[0]["Name"] != tt.metric || r.metrics[0]["Unit"] != tt.unit {
				t.Errorf("metric %v", r.metrics[0])
			}
			if r.raw[tt.metric] != tt.value {
				t.Errorf("value %v, want %v", r.raw[tt.metric], tt.value)
			}
			if strings.Join(r.dims[0], ",") != strings.Join(tt.wantDims, ",") {
				t.Errorf("dimensions %v, want %v (Service first, the rest sorted)", r.dims[0], tt.wantDims)
			}
			for k, v := range tt.wantVals {
				if r.raw[k] != v {
					t.Errorf("%s = %v, want %q", k, r.raw[k], v)
				}
			}
		})
	}
}

func TestMetricsOneLinePerRecord(t *testing.T) {
	var buf bytes.Buffer
	m := NewMetrics(&buf, "ns", "svc")
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.Count("C", float64(i), map[string]string{"A": "a", "B": "b"})
		}()
	}
	wg.Wait()
	recs := parseEMF(t, buf.String())
	if len(recs) != 20 {
		t.Fatalf("%d records, want 20", len(recs))
	}
	var vals []float64
	for _, r := range recs {
		vals = append(vals, r.raw["C"].(float64))
	}
	sort.Float64s(vals)
	for i, v := range vals {
		if v != float64(i) {
			t.Fatalf("values %v", vals)
		}
	}
}

func TestMetricsNoOp(t *testing.T) {
	var m *Metrics
	m.Count("x", 1, nil) // must not panic
	m.Millis("x", time.Second, map[string]string{"a": "b"})
	var zero Metrics
	zero.Count("x", 1, nil)
	zero.Millis("x", time.Second, nil)
}

func TestMetricsUnencodableRecordIsDropped(t *testing.T) {
	tests := []struct {
		name  string
		value float64
	}{
		{"NaN", nan()},
		{"Inf", math.Inf(1)},
		{"NegInf", math.Inf(-1)},
		// A metric named like one of the record's own keys would overwrite it.
		{"Service", 1},
		{"_aws", 1},
		{"level", 1},
		{"timestamp", 1},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		m := NewMetrics(&buf, "ns", "svc")
		m.Count(tt.name, tt.value, map[string]string{"Kind": "a"})
		if buf.Len() != 0 {
			t.Errorf("%s = %v: wrote %q", tt.name, tt.value, buf.String())
		}
	}
}

func nan() float64 {
	zero := 0.0
	return zero / zero
}

func validTimestamp(s string) bool {
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// Metrics survive every log level: with the function's LOG_LEVEL and
// Lambda's ApplicationLogLevel (AWS_LAMBDA_LOG_LEVEL) at any level — the
// template sets both from one parameter — Lambda's filter keeps every
// metric record and still drops the log lines below the level.
func TestMetricsSurviveEveryLogLevel(t *testing.T) {
	metrics := []string{"DeadLetters", "InboundLatency", "AgentErrors"}
	for _, level := range obstest.Levels {
		t.Run(level, func(t *testing.T) {
			var buf bytes.Buffer
			log := NewLogger(&buf, level)
			m := NewMetrics(&buf, "crmbridge", "source-inbound", level, level)
			log.Debug("debug line")
			m.Count(metrics[0], 1, map[string]string{"Kind": "inbound"})
			log.Info("info line")
			m.Millis(metrics[1], time.Millisecond, map[string]string{"Source": "generic"})
			log.Warn("warn line")
			m.Count(metrics[2], 1, nil)
			log.Error("error line")
			var kept []string
			var keptLogs []string
			for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
				if !obstest.LambdaKeeps(line, level) {
					continue
				}
				kept = append(kept, line)
				var rec map[string]any
				_ = json.Unmarshal([]byte(line), &rec)
				if msg, ok := rec["msg"].(string); ok {
					keptLogs = append(keptLogs, msg)
				}
			}
			recs := parseEMF(t, strings.Join(slices.DeleteFunc(kept, func(l string) bool { return !strings.Contains(l, `"_aws"`) }), "\n"))
			var got []string
			for _, r := range recs {
				got = append(got, r.metrics[0]["Name"])
			}
			if !slices.Equal(got, metrics) {
				t.Fatalf("at %s Lambda kept the metrics %v, want %v", level, got, metrics)
			}
			// The filter still works on the logs themselves.
			want := map[string][]string{
				"TRACE": {"debug line", "info line", "warn line", "error line"},
				"DEBUG": {"debug line", "info line", "warn line", "error line"},
				"INFO":  {"info line", "warn line", "error line"},
				"WARN":  {"warn line", "error line"},
				"ERROR": {"error line"},
				"FATAL": nil,
			}[level]
			if !slices.Equal(keptLogs, want) {
				t.Fatalf("at %s the logs kept are %v, want %v", level, keptLogs, want)
			}
		})
	}
}

// Without the fix's level, a WARN filter drops a metric: the model of
// Lambda's filter can fail.
func TestLambdaFilterDropsLevelLessLines(t *testing.T) {
	if obstest.LambdaKeeps(`{"DeadLetters":1,"_aws":{}}`, "WARN") {
		t.Fatal("a line without level passed a WARN filter")
	}
	if obstest.LambdaKeeps(`{"level":"ERROR","DeadLetters":1}`, "WARN") {
		t.Fatal("a line without timestamp passed a WARN filter")
	}
}

func TestMetricLevel(t *testing.T) {
	tests := []struct {
		filters []string
		want    string
	}{
		{nil, "INFO"},
		{[]string{"", ""}, "INFO"},
		{[]string{"DEBUG", "TRACE"}, "INFO"},
		{[]string{"INFO", "WARN"}, "WARN"},
		{[]string{"error", ""}, "ERROR"},
		{[]string{"WARN", "FATAL"}, "FATAL"},
	}
	for _, tt := range tests {
		if got := MetricLevel(tt.filters...); got != tt.want {
			t.Errorf("MetricLevel(%q) = %s, want %s", tt.filters, got, tt.want)
		}
	}
}

// The record is encoded by hand (appendRecord) into a reused buffer; it is
// held byte for byte to encoding/json's encoding of the same record as
// maps (marshalRecord, the encoder Metrics used first), and every line
// Metrics writes is that encoding and a newline.
func TestAppendRecordIsEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", `quo"te`, `back\slash`, "new\nline", "\b\f\r\t", "\x00\x1f\x7f", "é ü 日本", "\xff\xfe", "a\u2028b\u2029", "<&>", "\U0001F600", "\xed\xa0\x80"}
	values := []float64{0, math.Copysign(0, -1), 1, -1.5, 0.1, 1e-6, 9.99e-7, 1e-7, 123456789, 1e20, 1e21, -1e21, 1.5e300, math.SmallestNonzeroFloat64, math.MaxFloat64}
	times := []time.Time{time.Date(2025, 3, 4, 5, 6, 7, 8_000_000, time.UTC), time.Unix(0, 0), time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("x", 3600)), {}}
	for i, s := range strs {
		checkRecord(t, s, "Dim"+s, s, values[i%len(values)], times[i%len(times)])
		checkRecord(t, s, "Z", s, values[i%len(values)], times[i%len(times)])
	}
	for i, v := range values {
		checkRecord(t, "v", "Kind", "a", v, times[i%len(times)])
	}
	for _, at := range times {
		checkRecord(t, "", "", "", 1, at)
	}
}

func FuzzAppendRecord(f *testing.F) {
	f.Add("Errors", "Source", "generic", "ns", 1.5, int64(1741064767008000000))
	f.Add("quo\"te", "new\nline", "\xff<&>", "é\u2028", 1e-7, int64(0))
	f.Add("", "", "", "", 1e21, int64(-1))
	f.Fuzz(func(t *testing.T, name, dimKey, dimValue, s string, value float64, nanos int64) {
		if math.IsNaN(value) || math.IsInf(value, 0) {
			return // not recorded (TestMetricsUnencodableRecordIsDropped)
		}
		checkRecord(t, name, dimKey, dimValue+s, value, time.Unix(0, nanos))
	})
}

// checkRecord writes one metric with a few dimensions and namespace,
// service and unit made of the given strings, and compares the line with
// encoding/json's.
func checkRecord(t *testing.T, name, dimKey, dimValue string, value float64, at time.Time) {
	t.Helper()
	if reserved[name] {
		return // not recorded (TestMetricsUnencodableRecordIsDropped)
	}
	var buf bytes.Buffer
	m := NewMetrics(&buf, "ns"+dimValue, "svc"+dimValue)
	m.now = func() time.Time { return at }
	dims := map[string]string{dimKey: dimValue, "Source": "generic", dimValue: dimKey, "level": "DEBUG"}
	m.emit(name, value, "Count"+dimValue, dims)
	m2 := &Metrics{namespace: m.namespace, service: m.service, level: m.level, now: m.now}
	r := m2.record(name, value, "Count"+dimValue, dims)
	want := marshalRecord(nil, &r)
	if want == nil {
		t.Fatalf("encoding/json refused %+v", r)
	}
	got, _ := appendRecord(nil, nil, &r)
	if !bytes.Equal(got, want) {
		t.Fatalf("appendRecord differs from encoding/json:\n got %q\nwant %q", got, want)
	}
	if line := buf.String(); line != string(want)+"\n" {
		t.Fatalf("Metrics wrote\n%q\nwant\n%q", line, string(want)+"\n")
	}
	if !json.Valid(got) {
		t.Fatalf("not valid JSON: %q", got)
	}
}

// The buffer a Metrics keeps for the next record is bounded: one record
// with an outsized value does not pin its buffer.
func TestMetricsBufferBounded(t *testing.T) {
	m := NewMetrics(io.Discard, "ns", "svc")
	m.Count("C", 1, map[string]string{"Kind": strings.Repeat("x", 2*maxKeptBuffer)})
	if cap(m.buf) > maxKeptBuffer {
		t.Fatalf("kept a %d-byte buffer", cap(m.buf))
	}
	m.Count("C", 1, map[string]string{"Kind": "a"})
	if cap(m.buf) == 0 || cap(m.buf) > maxKeptBuffer {
		t.Fatalf("kept a %d-byte buffer after a small record", cap(m.buf))
	}
}

// A warm request emits a few records: the default encoder allocates
// nothing for them once its buffers have grown.
func TestMetricsEmitDoesNotAllocate(t *testing.T) {
	if encodingJSON {
		t.Skip("built with -tags obs_encodingjson: the baseline encoder allocates")
	}
	m := NewMetrics(io.Discard, "crmbridge", "source-inbound")
	dims := map[string]string{"Source": "generic", "Outcome": "accepted"}
	m.Count("InboundEvents", 1, dims)
	if n := testing.AllocsPerRun(100, func() { m.Count("InboundEvents", 1, dims) }); n != 0 {
		t.Fatalf("%v allocations a record", n)
	}
}

// BenchmarkEmit is one record's cost with each encoder.
func BenchmarkEmit(b *testing.B) {
	m := NewMetrics(io.Discard, "crmbridge", "source-inbound")
	dims := map[string]string{"Source": "generic", "Outcome": "accepted"}
	m.Count("InboundEvents", 1, dims)
	r := m.record("InboundEvents", 1, "Count", dims)
	var buf []byte
	var top []string
	b.Run("append", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			buf, top = appendRecord(buf[:0], top[:0], &r)
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			buf = marshalRecord(buf[:0], &r)
		}
	})
}
