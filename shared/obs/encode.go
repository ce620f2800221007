//go:build !obs_encodingjson

package obs

// encodingJSON says which encoder this build uses.
const encodingJSON = false

// encodeRecord is the encoder Metrics uses: appendRecord, unless built
// with -tags obs_encodingjson (encode_json.go), the baseline `make bench`
// measures it against.
func encodeRecord(b []byte, top []string, r *record) ([]byte, []string) {
	return appendRecord(b, top, r)
}
