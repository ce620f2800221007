package obs

import (
	"encoding/json"
	"time"
)

// marshalRecord is r's JSON as encoding/json writes it from maps: the
// encoder Metrics used first, kept as the reference appendRecord is held
// to byte for byte (TestAppendRecordIsEncodingJSON, FuzzAppendRecord) and
// measured against (`make bench` builds the warm benchmarks with and
// without -tags obs_encodingjson). Nil if r cannot be encoded.
func marshalRecord(b []byte, r *record) []byte {
	rec := map[string]any{r.name: r.value, "Service": r.service, "level": r.level, "timestamp": r.now.UTC().Format(time.RFC3339Nano)}
	for _, k := range r.keys[1:] {
		rec[k] = r.dims[k]
	}
	sets := [][]string{r.keys}
	if len(r.keys) > 1 {
		sets = append(sets, r.keys[:1])
	}
	rec["_aws"] = map[string]any{
		"Timestamp": r.now.UnixMilli(),
		"CloudWatchMetrics": []any{map[string]any{
			"Namespace":  r.namespace,
			"Dimensions": sets,
			"Metrics":    []any{map[string]string{"Name": r.name, "Unit": r.unit}},
		}},
	}
	out, err := json.Marshal(rec)
	if err != nil {
		return nil
	}
	return append(b, out...)
}
