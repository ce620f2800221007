package lptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
)

// Request is one call LivePerson's Custom Endpoint client makes on the
// bridge, below the Base URL /sources/liveperson/{accountId}.
type Request struct {
	Method        string
	Account       string
	Proxy         string // e.g. v1/bots/{botId}/environments
	Authorization string
	Body          []byte
}

// Path is the request's path on our API.
func (r Request) Path() string { return "/sources/liveperson/" + r.Account + "/" + r.Proxy }

// RouteKey is the HTTP API route that serves these requests.
const RouteKey = "ANY /sources/{source}/{account}/{proxy+}"

// Event is the API Gateway HTTP API (payload format 2.0) event for the
// request, as the source-inbound function receives it.
func (r Request) Event(requestID string, at time.Time) events.APIGatewayV2HTTPRequest {
	headers := map[string]string{
		"host":       "api.example.com",
		"user-agent": "LivePerson-ThirdPartyBots",
		"accept":     "application/json",
	}
	if r.Authorization != "" {
		headers["authorization"] = r.Authorization
	}
	if len(r.Body) > 0 {
		headers["content-type"] = "application/json"
		headers["content-length"] = fmt.Sprint(len(r.Body))
	}
	return events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       RouteKey,
		RawPath:        r.Path(),
		Headers:        headers,
		PathParameters: map[string]string{"source": "liveperson", "account": r.Account, "proxy": r.Proxy},
		Body:           string(r.Body),
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     RouteKey,
			AccountID:    "123456789012",
			APIID:        "crmbridge",
			Stage:        "$default",
			DomainName:   "api.example.com",
			DomainPrefix: "api",
			RequestID:    requestID,
			Time:         at.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    at.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method: r.Method, Path: r.Path(), Protocol: "HTTP/1.1", SourceIP: "192.0.2.10", UserAgent: "LivePerson-ThirdPartyBots",
			},
		},
	}
}

// HTTP is the request against a running API (the local stack) at baseURL.
func (r Request) HTTP(baseURL string) (*http.Request, error) {
	req, err := http.NewRequest(r.Method, strings.TrimRight(baseURL, "/")+r.Path(), bytes.NewReader(r.Body))
	if err != nil {
		return nil, err
	}
	if r.Authorization != "" {
		req.Header.Set("Authorization", r.Authorization)
	}
	if len(r.Body) > 0 {
		req.Header.Set("Content-Type", "application/json")
	}
	return req, nil
}

// Endpoint builds the requests of one bot: account, Bot ID and environment
// as entered in the Custom Endpoint vendor settings.
type Endpoint struct {
	Account       string
	BotID         string
	Env           string // default draft
	Authorization string // "Bearer <App-JWT>"
}

func (e Endpoint) env() string {
	if e.Env == "" {
		return "draft"
	}
	return e.Env
}

func (e Endpoint) req(method, proxy string, body any) Request {
	r := Request{Method: method, Account: e.Account, Proxy: proxy, Authorization: e.Authorization}
	if body != nil {
		r.Body, _ = json.Marshal(body)
	}
	return r
}

func (e Endpoint) conv(convID string) string {
	return "v1/bots/" + e.BotID + "/environments/" + e.env() + "/conversations/" + convID
}

// Environments is GET /v1/bots/{botId}/environments.
func (e Endpoint) Environments() Request {
	return e.req(http.MethodGet, "v1/bots/"+e.BotID+"/environments", nil)
}

// State is GET /v1/bots/{botId}/environments/{env}/state (Test Connection).
func (e Endpoint) State() Request {
	return e.req(http.MethodGet, "v1/bots/"+e.BotID+"/environments/"+e.env()+"/state", nil)
}

// CreateConversation is PUT .../conversations/{convId} with a body from
// ConversationBody.
func (e Endpoint) CreateConversation(convID string, body any) Request {
	return e.req(http.MethodPut, e.conv(convID), body)
}

// PostEvent is POST .../conversations/{convId}/events with any body.
func (e Endpoint) PostEvent(convID string, body any) Request {
	return e.req(http.MethodPost, e.conv(convID)+"/events", body)
}

// Text posts a consumer TEXT event; metadata goes to context.lpEvent.metadata.
func (e Endpoint) Text(convID string, seq int, text string, metadata ...Metadata) Request {
	return e.PostEvent(convID, TextEvent(convID, seq, text, metadata...))
}

// Click posts a RICH_CONTENT event for a button click (see ClickEvent).
func (e Endpoint) Click(convID string, seq int, published string, externalID string) Request {
	return e.PostEvent(convID, ClickEvent(convID, seq, published, externalID))
}

// Start posts the welcome event START, with lastConsumerMessage when not "".
func (e Endpoint) Start(convID string, seq int, lastConsumerMessage string) Request {
	return e.PostEvent(convID, StartEvent(convID, seq, lastConsumerMessage))
}

// Closed posts a CONVERSATION state change to CLOSED.
func (e Endpoint) Closed(convID string, seq int) Request {
	return e.PostEvent(convID, StateEvent(convID, seq, "CLOSED"))
}

// Metadata is an item of lpEvent.metadata or click metadata.
type Metadata struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// ExternalID is the metadata item a button click carries.
func ExternalID(id string) Metadata { return Metadata{Type: "ExternalId", ID: id} }

// Timestamp is the serverTimestamp in the sample events (fixed so the
// bodies are stable).
var Timestamp = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func lpEvent(convID string, seq int, event map[string]any, metadata ...Metadata) map[string]any {
	if metadata == nil {
		metadata = []Metadata{}
	}
	ev := map[string]any{
		"sequence":        seq,
		"serverTimestamp": Timestamp.Add(time.Duration(seq) * time.Second).UnixMilli(),
		"conversationId":  convID,
		"dialogId":        convID,
		"metadata":        metadata,
		"messageAudience": "ALL",
	}
	if event != nil {
		ev["event"] = event
	}
	return ev
}

// TextEvent is the body of a TEXT event, as in LivePerson's service
// implementation guide (Figure 2.5).
func TextEvent(convID string, seq int, text string, metadata ...Metadata) map[string]any {
	return map[string]any{
		"type": "TEXT", "source": "CONSUMER",
		"data": map[string]any{"message": text},
		"context": map[string]any{"lpEvent": lpEvent(convID, seq,
			map[string]any{"type": "ContentEvent", "message": text, "contentType": "text/plain"}, metadata...)},
	}
}

// ClickEvent is a RICH_CONTENT event for a button click: the button with
// its publishText action and ExternalId click metadata, the metadata also in
// lpEvent.metadata. How LivePerson actually reports a click to a Custom
// Endpoint is not documented; this is the shape the adapter accepts besides
// a TEXT event with the published text.
func ClickEvent(convID string, seq int, published, externalID string) map[string]any {
	btn := map[string]any{"type": "button", "title": published,
		"click": map[string]any{"actions": []any{map[string]any{"type": "publishText", "text": published}}}}
	var md []Metadata
	if externalID != "" {
		md = []Metadata{ExternalID(externalID)}
		btn["click"].(map[string]any)["metadata"] = md
	}
	content := map[string]any{"type": "vertical", "elements": []any{btn}}
	return map[string]any{
		"type": "RICH_CONTENT", "source": "CONSUMER",
		"data": map[string]any{"content": content},
		"context": map[string]any{"lpEvent": lpEvent(convID, seq,
			map[string]any{"type": "RichContentEvent", "content": content}, md...)},
	}
}

// StartEvent is the welcome event; lastConsumerMessage is set after a
// transfer to the bot.
func StartEvent(convID string, seq int, lastConsumerMessage string) map[string]any {
	ev := lpEvent(convID, seq, nil)
	if lastConsumerMessage != "" {
		ev["lastConsumerMessage"] = lastConsumerMessage
	}
	return map[string]any{"type": "START", "source": "CONVERSATION", "data": map[string]any{}, "context": map[string]any{"lpEvent": ev}}
}

// Person is the user data of SDES for a test conversation.
type Person struct {
	FirstName, LastName, Email, Phone, CustomerID, Language string
}

// MessagingSDES is the sdes object of a messaging conversation: personal and
// customer info, authenticated or not.
func MessagingSDES(p Person, authenticated bool) map[string]any {
	customer := map[string]any{"customerId": p.CustomerID, "customerType": "vip", "customerStatus": "active"}
	personal := map[string]any{"name": p.FirstName, "surname": p.LastName, "language": p.Language,
		"contacts": []any{map[string]any{"email": p.Email, "phone": p.Phone}}}
	set := map[string]any{
		"customerInfo": map[string]any{"serverTimeStamp": Timestamp.UnixMilli(), "customerInfo": customer},
		"personalInfo": map[string]any{"serverTimeStamp": Timestamp.UnixMilli(), "personalInfo": personal},
	}
	if authenticated {
		return map[string]any{"authenticatedSdes": set, "unauthenticatedSdes": map[string]any{}}
	}
	return map[string]any{"authenticatedSdes": map[string]any{}, "unauthenticatedSdes": set}
}

// ConversationBody is the PUT conversation body (LivePerson's service
// implementation guide, Figure 2.4): sdes and the conversation context.
func ConversationBody(sdes map[string]any, conversationType string) map[string]any {
	body := map[string]any{"context": map[string]any{
		"type": conversationType, "skillId": "1234567", "engagementId": 123498765, "campaignId": 987665546,
		"visitor": map[string]any{"sharkVisitorId": "ABCDEFGHIJKLMNOPQRST", "sharkSessionId": "ABcdEFGH12JKLM0iuSTU",
			"ipAddress": "192.0.2.10", "language": "en-US"},
	}}
	if sdes != nil {
		body["sdes"] = sdes
	}
	return body
}
