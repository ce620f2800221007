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
	"encoding/json"

	"github.com/aws/aws-lambda-go/events"

	"github.com/crmbridge/crmbridge/shared/jsonread"
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
	d := newDecoder(payload)
	if fastPath && d.event(ev) {
		return nil
	}
	*ev = Event{}
	return json.Unmarshal(payload, ev)
}

// decoder reads the two event shapes.
type decoder struct{ jsonread.Reader }

func newDecoder(b []byte) *decoder { return &decoder{jsonread.New(b, common)} }

// A case of the field switches below: decode a known key's value once.
// Any key not listed ends the fast path, except in an SQS record, whose
// other fields encoding/json skips as well.

func (d *decoder) event(ev *Event) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
		h  = &ev.APIGatewayV2HTTPRequest
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "version":
			ok = s.First(0) && d.Into(&h.Version)
		case "routeKey":
			ok = s.First(1) && d.Into(&h.RouteKey)
		case "rawPath":
			ok = s.First(2) && d.Into(&h.RawPath)
		case "rawQueryString":
			ok = s.First(3) && d.Into(&h.RawQueryString)
		case "cookies":
			ok = s.First(4) && d.Strings(&h.Cookies)
		case "headers":
			ok = s.First(5) && d.StrMap(&h.Headers)
		case "queryStringParameters":
			ok = s.First(6) && d.StrMap(&h.QueryStringParameters)
		case "pathParameters":
			ok = s.First(7) && d.StrMap(&h.PathParameters)
		case "requestContext":
			ok = s.First(8) && d.requestContext(&h.RequestContext)
		case "stageVariables":
			ok = s.First(9) && d.StrMap(&h.StageVariables)
		case "body":
			ok = s.First(10) && d.Into(&h.Body)
		case "isBase64Encoded":
			ok = s.First(11) && d.Bool(&h.IsBase64Encoded)
		case "Records":
			ok = s.First(12) && d.records(&ev.Records)
		default:
			ok = false
		}
	}
	return ok && !o.Bad() && d.End()
}

func (d *decoder) requestContext(rc *events.APIGatewayV2HTTPRequestContext) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "routeKey":
			ok = s.First(0) && d.Into(&rc.RouteKey)
		case "accountId":
			ok = s.First(1) && d.Into(&rc.AccountID)
		case "stage":
			ok = s.First(2) && d.Into(&rc.Stage)
		case "requestId":
			ok = s.First(3) && d.Into(&rc.RequestID)
		case "apiId":
			ok = s.First(4) && d.Into(&rc.APIID)
		case "domainName":
			ok = s.First(5) && d.Into(&rc.DomainName)
		case "domainPrefix":
			ok = s.First(6) && d.Into(&rc.DomainPrefix)
		case "time":
			ok = s.First(7) && d.Into(&rc.Time)
		case "timeEpoch":
			ok = s.First(8) && d.Int(&rc.TimeEpoch)
		case "http":
			ok = s.First(9) && d.httpDescription(&rc.HTTP)
		case "authentication":
			// What json.Marshal writes for every request (webhook-message
			// forwards the events it does not own that way).
			ok = s.First(10) && d.authentication(&rc.Authentication)
		default:
			ok = false // authorizer: encoding/json's
		}
	}
	return ok && !o.Bad()
}

func (d *decoder) httpDescription(h *events.APIGatewayV2HTTPRequestContextHTTPDescription) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "method":
			ok = s.First(0) && d.Into(&h.Method)
		case "path":
			ok = s.First(1) && d.Into(&h.Path)
		case "protocol":
			ok = s.First(2) && d.Into(&h.Protocol)
		case "sourceIp":
			ok = s.First(3) && d.Into(&h.SourceIP)
		case "userAgent":
			ok = s.First(4) && d.Into(&h.UserAgent)
		default:
			ok = false
		}
	}
	return ok && !o.Bad()
}

func (d *decoder) authentication(a *events.APIGatewayV2HTTPRequestContextAuthentication) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		if string(key) != "clientCert" {
			return false
		}
		ok = s.First(0) && d.clientCert(&a.ClientCert)
	}
	return ok && !o.Bad()
}

func (d *decoder) clientCert(c *events.APIGatewayV2HTTPRequestContextAuthenticationClientCert) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "clientCertPem":
			ok = s.First(0) && d.Into(&c.ClientCertPem)
		case "issuerDN":
			ok = s.First(1) && d.Into(&c.IssuerDN)
		case "serialNumber":
			ok = s.First(2) && d.Into(&c.SerialNumber)
		case "subjectDN":
			ok = s.First(3) && d.Into(&c.SubjectDN)
		case "validity":
			ok = s.First(4) && d.validity(&c.Validity)
		default:
			ok = false
		}
	}
	return ok && !o.Bad()
}

func (d *decoder) validity(v *events.APIGatewayV2HTTPRequestContextAuthenticationClientCertValidity) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "notAfter":
			ok = s.First(0) && d.Into(&v.NotAfter)
		case "notBefore":
			ok = s.First(1) && d.Into(&v.NotBefore)
		default:
			ok = false
		}
	}
	return ok && !o.Bad()
}

func (d *decoder) records(out *[]queue.Message) bool {
	var (
		o    jsonread.Elements
		ok   = true
		recs = make([]queue.Message, 0, 1)
	)
	for more := d.Element(&o); more && ok; more = d.Element(&o) {
		recs = append(recs, queue.Message{})
		ok = d.message(&recs[len(recs)-1])
	}
	*out = recs
	return ok && !o.Bad()
}

// message reads one SQS record. The fields queue.Message has no place for
// are skipped, as encoding/json skips them; a key that differs from one of
// its fields only in case (which encoding/json would match) is left to it.
func (d *decoder) message(m *queue.Message) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "messageId":
			ok = s.First(0) && d.Into(&m.MessageID)
		case "receiptHandle":
			ok = s.First(1) && d.Into(&m.ReceiptHandle)
		case "body":
			ok = s.First(2) && d.Into(&m.Body)
		case "attributes":
			ok = s.First(3) && d.attributes(&m.Attributes)
		case "eventSource":
			ok = s.First(4) && d.Into(&m.EventSource)
		default:
			ok = !jsonread.FoldsTo(key, "messageId", "receiptHandle", "body", "attributes", "eventSource") && d.Skip()
		}
	}
	return ok && !o.Bad()
}

func (d *decoder) attributes(a *queue.MessageAttributes) bool {
	var (
		s  jsonread.Seen
		o  jsonread.Members
		ok = true
	)
	for key, more := d.Member(&o); more && ok; key, more = d.Member(&o) {
		switch string(key) {
		case "ApproximateReceiveCount":
			ok = s.First(0) && d.Into(&a.ApproximateReceiveCount)
		case "SentTimestamp":
			ok = s.First(1) && d.Into(&a.SentTimestamp)
		case "MessageGroupId":
			ok = s.First(2) && d.Into(&a.MessageGroupID)
		case "MessageDeduplicationId":
			ok = s.First(3) && d.Into(&a.MessageDeduplicationID)
		default:
			ok = !jsonread.FoldsTo(key, "ApproximateReceiveCount", "SentTimestamp", "MessageGroupId", "MessageDeduplicationId") && d.Skip()
		}
	}
	return ok && !o.Bad()
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
