// Package lambdaevent decodes the payload a function's entry point is
// handed: an API Gateway HTTP API (2.0) request or an SQS event. Decoding
// it is a third of a warm request's CPU with encoding/json (reflection, a
// validating pre-scan, an allocation per field), so the shapes Lambda
// actually sends are read by a small decoder written for them, and
// anything else (a field it does not know, a duplicate, a null, a number
// that is not an integer, invalid JSON) is left to encoding/json. Both give
// the same Event for every payload the fast one accepts (FuzzDecode holds
// them equal).
package lambdaevent

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/queue"
)

// Event is either payload: an HTTP API request's fields at the top level,
// or an SQS event's Records (the two shapes share no key).
type Event struct {
	events.APIGatewayV2HTTPRequest
	Records []queue.Message `json:"Records"`
}

// Decode reads payload into ev, as json.Unmarshal would.
func Decode(payload []byte, ev *Event) error {
	d := decoder{b: payload}
	if fastPath && d.event(ev) {
		return nil
	}
	*ev = Event{}
	return json.Unmarshal(payload, ev)
}

// maxDepth bounds the nesting of a skipped value; deeper is left to
// encoding/json.
const maxDepth = 64

// decoder reads one payload. Every method returns false when the input is
// not of the shape it reads; the caller then gives up on the fast path.
type decoder struct {
	b []byte
	i int
	// seen strings, to share one string where a request repeats a value
	// (routeKey, path, user agent, domain in the request context)
	recent [24]string
	slot   int
}

// maxShared bounds the strings compared with the recent ones.
const maxShared = 128

func (d *decoder) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c,
// consuming it if so.
func (d *decoder) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// members walks an object's members: each call to member returns the next
// key (undecoded when it needs no decoding), with the value next in the
// input; false at the end, or on bad input (then bad is set).
type members struct {
	started, bad bool
}

func (d *decoder) member(o *members) ([]byte, bool) {
	switch {
	case !o.started:
		o.started = true
		if !d.next('{') {
			o.bad = true
			return nil, false
		}
		if d.next('}') {
			return nil, false
		}
	case d.next(','):
	case d.next('}'):
		return nil, false
	default:
		o.bad = true
		return nil, false
	}
	d.ws()
	key, ok := d.key()
	if !ok || !d.next(':') {
		o.bad = true
		return nil, false
	}
	d.ws()
	return key, true
}

// key reads a member's key: the input's own bytes when it holds no escape
// or non-ASCII byte, else its decoded form.
func (d *decoder) key() ([]byte, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return nil, false
	}
	for i := d.i + 1; i < len(d.b); i++ {
		c := d.b[i]
		if c == '"' {
			k := d.b[d.i+1 : i]
			d.i = i + 1
			return k, true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
	}
	k, ok := d.str()
	return []byte(k), ok
}

// seen guards against a key given twice: encoding/json's merging of a
// repeated object is left to it.
type seen uint32

func (s *seen) first(bit int) bool {
	if *s&(1<<bit) != 0 {
		return false
	}
	*s |= 1 << bit
	return true
}

// A case of the field switches below: decode a known key's value once.
// Any key not listed ends the fast path, except in an SQS record, whose
// other fields encoding/json skips as well.

func (d *decoder) event(ev *Event) bool {
	var (
		s  seen
		o  members
		ok = true
		h  = &ev.APIGatewayV2HTTPRequest
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "version":
			ok = s.first(0) && d.into(&h.Version)
		case "routeKey":
			ok = s.first(1) && d.into(&h.RouteKey)
		case "rawPath":
			ok = s.first(2) && d.into(&h.RawPath)
		case "rawQueryString":
			ok = s.first(3) && d.into(&h.RawQueryString)
		case "cookies":
			ok = s.first(4) && d.strings(&h.Cookies)
		case "headers":
			ok = s.first(5) && d.strMap(&h.Headers)
		case "queryStringParameters":
			ok = s.first(6) && d.strMap(&h.QueryStringParameters)
		case "pathParameters":
			ok = s.first(7) && d.strMap(&h.PathParameters)
		case "requestContext":
			ok = s.first(8) && d.requestContext(&h.RequestContext)
		case "stageVariables":
			ok = s.first(9) && d.strMap(&h.StageVariables)
		case "body":
			ok = s.first(10) && d.into(&h.Body)
		case "isBase64Encoded":
			ok = s.first(11) && d.boolean(&h.IsBase64Encoded)
		case "Records":
			ok = s.first(12) && d.records(&ev.Records)
		default:
			ok = false
		}
	}
	if !ok || o.bad {
		return false
	}
	d.ws()
	return d.i == len(d.b)
}

func (d *decoder) requestContext(rc *events.APIGatewayV2HTTPRequestContext) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "routeKey":
			ok = s.first(0) && d.into(&rc.RouteKey)
		case "accountId":
			ok = s.first(1) && d.into(&rc.AccountID)
		case "stage":
			ok = s.first(2) && d.into(&rc.Stage)
		case "requestId":
			ok = s.first(3) && d.into(&rc.RequestID)
		case "apiId":
			ok = s.first(4) && d.into(&rc.APIID)
		case "domainName":
			ok = s.first(5) && d.into(&rc.DomainName)
		case "domainPrefix":
			ok = s.first(6) && d.into(&rc.DomainPrefix)
		case "time":
			ok = s.first(7) && d.into(&rc.Time)
		case "timeEpoch":
			ok = s.first(8) && d.integer(&rc.TimeEpoch)
		case "http":
			ok = s.first(9) && d.httpDescription(&rc.HTTP)
		case "authentication":
			// What json.Marshal writes for every request (webhook-message
			// forwards the events it does not own that way).
			ok = s.first(10) && d.authentication(&rc.Authentication)
		default:
			ok = false // authorizer: encoding/json's
		}
	}
	return ok && !o.bad
}

func (d *decoder) httpDescription(h *events.APIGatewayV2HTTPRequestContextHTTPDescription) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "method":
			ok = s.first(0) && d.into(&h.Method)
		case "path":
			ok = s.first(1) && d.into(&h.Path)
		case "protocol":
			ok = s.first(2) && d.into(&h.Protocol)
		case "sourceIp":
			ok = s.first(3) && d.into(&h.SourceIP)
		case "userAgent":
			ok = s.first(4) && d.into(&h.UserAgent)
		default:
			ok = false
		}
	}
	return ok && !o.bad
}

func (d *decoder) authentication(a *events.APIGatewayV2HTTPRequestContextAuthentication) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		if string(key) != "clientCert" {
			return false
		}
		ok = s.first(0) && d.clientCert(&a.ClientCert)
	}
	return ok && !o.bad
}

func (d *decoder) clientCert(c *events.APIGatewayV2HTTPRequestContextAuthenticationClientCert) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "clientCertPem":
			ok = s.first(0) && d.into(&c.ClientCertPem)
		case "issuerDN":
			ok = s.first(1) && d.into(&c.IssuerDN)
		case "serialNumber":
			ok = s.first(2) && d.into(&c.SerialNumber)
		case "subjectDN":
			ok = s.first(3) && d.into(&c.SubjectDN)
		case "validity":
			ok = s.first(4) && d.validity(&c.Validity)
		default:
			ok = false
		}
	}
	return ok && !o.bad
}

func (d *decoder) validity(v *events.APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "notAfter":
			ok = s.first(0) && d.into(&v.NotAfter)
		case "notBefore":
			ok = s.first(1) && d.into(&v.NotBefore)
		default:
			ok = false
		}
	}
	return ok && !o.bad
}

func (d *decoder) records(out *[]queue.Message) bool {
	if !d.next('[') {
		return false
	}
	recs := make([]queue.Message, 0, 1)
	if !d.next(']') {
		for {
			d.ws()
			recs = append(recs, queue.Message{})
			if !d.message(&recs[len(recs)-1]) {
				return false
			}
			if d.next(',') {
				continue
			}
			if !d.next(']') {
				return false
			}
			break
		}
	}
	*out = recs
	return true
}

// message reads one SQS record. The fields queue.Message has no place for
// are skipped, as encoding/json skips them; a key that differs from one of
// its fields only in case (which encoding/json would match) is left to it.
func (d *decoder) message(m *queue.Message) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "messageId":
			ok = s.first(0) && d.into(&m.MessageID)
		case "receiptHandle":
			ok = s.first(1) && d.into(&m.ReceiptHandle)
		case "body":
			ok = s.first(2) && d.into(&m.Body)
		case "attributes":
			ok = s.first(3) && d.attributes(&m.Attributes)
		case "eventSource":
			ok = s.first(4) && d.into(&m.EventSource)
		default:
			ok = !foldsTo(key, "messageId", "receiptHandle", "body", "attributes", "eventSource") && d.skip(0)
		}
	}
	return ok && !o.bad
}

func (d *decoder) attributes(a *queue.MessageAttributes) bool {
	var (
		s  seen
		o  members
		ok = true
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		switch string(key) {
		case "ApproximateReceiveCount":
			ok = s.first(0) && d.into(&a.ApproximateReceiveCount)
		case "SentTimestamp":
			ok = s.first(1) && d.into(&a.SentTimestamp)
		case "MessageGroupId":
			ok = s.first(2) && d.into(&a.MessageGroupID)
		case "MessageDeduplicationId":
			ok = s.first(3) && d.into(&a.MessageDeduplicationID)
		default:
			ok = !foldsTo(key, "ApproximateReceiveCount", "SentTimestamp", "MessageGroupId", "MessageDeduplicationId") && d.skip(0)
		}
	}
	return ok && !o.bad
}

func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

func (d *decoder) into(s *string) bool {
	v, ok := d.str()
	*s = v
	return ok
}

func (d *decoder) strings(out *[]string) bool {
	if !d.next('[') {
		return false
	}
	ss := []string{}
	if !d.next(']') {
		for {
			d.ws()
			v, ok := d.str()
			if !ok {
				return false
			}
			ss = append(ss, v)
			if d.next(',') {
				continue
			}
			if !d.next(']') {
				return false
			}
			break
		}
	}
	*out = ss
	return true
}

// strMap reads an object of strings. A repeated key keeps its last value,
// as in encoding/json.
func (d *decoder) strMap(out *map[string]string) bool {
	var (
		o  members
		ok = true
		m  = map[string]string{}
	)
	for key, more := d.member(&o); more && ok; key, more = d.member(&o) {
		var v string
		v, ok = d.str()
		if k, ok := common(key); ok {
			m[k] = v
		} else {
			m[string(key)] = v
		}
	}
	*out = m
	return ok && !o.bad
}

func (d *decoder) boolean(b *bool) bool {
	switch {
	case bytes.HasPrefix(d.b[d.i:], []byte("true")):
		*b, d.i = true, d.i+4
	case bytes.HasPrefix(d.b[d.i:], []byte("false")):
		*b, d.i = false, d.i+5
	default:
		return false
	}
	return true
}

// integer reads a JSON number that is an int64 (encoding/json refuses a
// fraction or an exponent there; that error is left to it).
func (d *decoder) integer(n *int64) bool {
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) {
		return false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return false
	}
	v, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	*n = v
	return err == nil
}

// str reads a string at d.i, decoding it as encoding/json does: escapes,
// invalid UTF-8 as U+FFFD, a lone surrogate as U+FFFD.
func (d *decoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i + 1
	i := start
	for i < len(d.b) {
		c := d.b[i]
		if c == '"' {
			d.i = i + 1
			return d.share(d.b[start:i]), true
		}
		if c == '\\' || c < ' ' || c >= utf8.RuneSelf {
			break
		}
		i++
	}
	// The slow half: escapes or non-ASCII.
	buf := make([]byte, 0, i-start+64)
	buf = append(buf, d.b[start:i]...)
	for i < len(d.b) {
		c := d.b[i]
		switch {
		case c == '"':
			d.i = i + 1
			return string(buf), true
		case c < ' ':
			return "", false
		case c == '\\':
			if i+1 >= len(d.b) {
				return "", false
			}
			switch e := d.b[i+1]; e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b':
				buf = append(buf, '\b')
			case 'f':
				buf = append(buf, '\f')
			case 'n':
				buf = append(buf, '\n')
			case 'r':
				buf = append(buf, '\r')
			case 't':
				buf = append(buf, '\t')
			case 'u':
				r := getu4(d.b[i:])
				if r < 0 {
					return "", false
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if dec := utf16.DecodeRune(r, getu4(d.b[i:])); dec != unicode.ReplacementChar {
						i += 6
						buf = utf8.AppendRune(buf, dec)
						continue
					}
					r = unicode.ReplacementChar
				}
				buf = utf8.AppendRune(buf, r)
				continue
			default:
				return "", false
			}
			i += 2
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.b[i:])
			buf = utf8.AppendRune(buf, r)
			i += size
		}
	}
	return "", false
}

// share returns b as a string, allocating only when it is neither common
// nor one the request has already given.
func (d *decoder) share(b []byte) string {
	if v, ok := common(b); ok {
		return v
	}
	if len(b) > maxShared {
		return string(b)
	}
	for _, r := range d.recent {
		if r == string(b) && r != "" {
			return r
		}
	}
	v := string(b)
	d.recent[d.slot%len(d.recent)] = v
	d.slot++
	return v
}

// common returns the string of b without allocating when it is one every
// request repeats: API Gateway's fixed values and header names, SQS's. (A
// switch, not a map: nothing to build at start-up.)
func common(b []byte) (string, bool) {
	switch string(b) {
	case "2.0":
		return "2.0", true
	case "$default":
		return "$default", true
	case "HTTP/1.1":
		return "HTTP/1.1", true
	case "HTTP/2.0":
		return "HTTP/2.0", true
	case "POST":
		return "POST", true
	case "GET":
		return "GET", true
	case "aws:sqs":
		return "aws:sqs", true
	case "1":
		return "1", true
	case "application/json":
		return "application/json", true
	case "content-type":
		return "content-type", true
	case "content-length":
		return "content-length", true
	case "host":
		return "host", true
	case "user-agent":
		return "user-agent", true
	case "accept":
		return "accept", true
	case "accept-encoding":
		return "accept-encoding", true
	case "x-amzn-trace-id":
		return "x-amzn-trace-id", true
	case "x-forwarded-for":
		return "x-forwarded-for", true
	case "x-forwarded-port":
		return "x-forwarded-port", true
	case "x-forwarded-proto":
		return "x-forwarded-proto", true
	case "webhook-id":
		return "webhook-id", true
	case "webhook-timestamp":
		return "webhook-timestamp", true
	case "webhook-signature":
		return "webhook-signature", true
	case "x-twilio-signature":
		return "x-twilio-signature", true
	case "x-api-key":
		return "x-api-key", true
	case "authorization":
		return "authorization", true
	case "source":
		return "source", true
	case "account":
		return "account", true
	}
	return "", false
}

// skipStr passes over a valid string without decoding it.
func (d *decoder) skipStr() bool {
	for i := d.i + 1; i < len(d.b); i++ {
		switch c := d.b[i]; {
		case c == '"':
			d.i = i + 1
			return true
		case c < ' ':
			return false
		case c == '\\':
			if i+1 >= len(d.b) {
				return false
			}
			switch d.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if getu4(d.b[i:]) < 0 {
					return false
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}

// getu4 decodes \uXXXX at the start of b, or returns -1.
func getu4(b []byte) rune {
	if len(b) < 6 || b[0] != '\\' || b[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r*16 + rune(c)
	}
	return r
}

// skip passes over one valid JSON value.
func (d *decoder) skip(depth int) bool {
	if depth > maxDepth {
		return false
	}
	d.ws()
	if d.i >= len(d.b) {
		return false
	}
	switch c := d.b[d.i]; {
	case c == '"':
		return d.skipStr()
	case c == '{':
		var (
			o  members
			ok = true
		)
		for _, more := d.member(&o); more && ok; _, more = d.member(&o) {
			ok = d.skip(depth + 1)
		}
		return ok && !o.bad
	case c == '[':
		d.i++
		if d.next(']') {
			return true
		}
		for {
			if !d.skip(depth + 1) {
				return false
			}
			if d.next(',') {
				continue
			}
			return d.next(']')
		}
	case c == 't':
		return d.literal("true")
	case c == 'f':
		return d.literal("false")
	case c == 'n':
		return d.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return d.number()
	}
	return false
}

func (d *decoder) literal(s string) bool {
	if !bytes.HasPrefix(d.b[d.i:], []byte(s)) {
		return false
	}
	d.i += len(s)
	return true
}

// number passes over a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (d *decoder) number() bool {
	if d.b[d.i] == '-' {
		d.i++
	}
	digits := func() int {
		n := 0
		for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
			d.i++
			n++
		}
		return n
	}
	if d.i < len(d.b) && d.b[d.i] == '0' {
		d.i++
	} else if digits() == 0 {
		return false
	}
	if d.i < len(d.b) && d.b[d.i] == '.' {
		d.i++
		if digits() == 0 {
			return false
		}
	}
	if d.i < len(d.b) && (d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		d.i++
		if d.i < len(d.b) && (d.b[d.i] == '+' || d.b[d.i] == '-') {
			d.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return true
}
