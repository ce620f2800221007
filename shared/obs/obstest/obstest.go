// Package obstest models what happens to the bridge's log lines on Lambda,
// for tests: Lambda's application log-level filter, and which EMF metrics
// the kept lines carry.
package obstest

import (
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Levels are Lambda's application log levels, least severe first.
var Levels = []string{"TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"}

// LambdaKeeps is Lambda's application log-level filter for a JSON line, as
// documented (Lambda Developer Guide, "Log-level filtering"): the line's
// level is its "level" value, and INFO when that is missing or invalid or
// when the line has no valid RFC 3339 "timestamp"; a line below threshold
// is dropped. A line that is not JSON is INFO too.
func LambdaKeeps(line, threshold string) bool {
	rank := func(l string) int { return slices.Index(Levels, strings.ToUpper(l)) }
	var rec map[string]any
	_ = json.Unmarshal([]byte(line), &rec)
	lvl, _ := rec["level"].(string)
	ts, _ := rec["timestamp"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); rank(lvl) < 0 || err != nil {
		lvl = "INFO"
	}
	return rank(lvl) >= rank(threshold)
}

// Filter returns the lines of out that Lambda keeps at threshold.
func Filter(out, threshold string) []string {
	var kept []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line != "" && LambdaKeeps(line, threshold) {
			kept = append(kept, line)
		}
	}
	return kept
}

// Metric is one EMF metric in a log line.
type Metric struct {
	Namespace string
	Name      string
	Unit      string
	// Dimensions are the record's dimension sets with their values.
	Dimensions []map[string]string
}

// Metrics returns the EMF metrics the lines carry (lines without _aws are
// skipped).
func Metrics(lines []string) []Metric {
	var out []Metric
	for _, line := range lines {
		var raw map[string]any
		if json.Unmarshal([]byte(line), &raw) != nil {
			continue
		}
		var meta struct {
			AWS *struct {
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			} `json:"_aws"`
		}
		if json.Unmarshal([]byte(line), &meta) != nil || meta.AWS == nil {
			continue
		}
		for _, d := range meta.AWS.CloudWatchMetrics {
			var sets []map[string]string
			for _, set := range d.Dimensions {
				vals := map[string]string{}
				for _, k := range set {
					vals[k], _ = raw[k].(string)
				}
				sets = append(sets, vals)
			}
			for _, m := range d.Metrics {
				out = append(out, Metric{Namespace: d.Namespace, Name: m.Name, Unit: m.Unit, Dimensions: sets})
			}
		}
	}
	return out
}
