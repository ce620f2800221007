package lptest

import (
	"fmt"
	"net/http"
	"slices"
)

// EventTypes are the event types of the Custom Endpoint API: those of
// LivePerson's reference service and those its OpenAPI file (docs/v1.json,
// ConversationChange) adds.
var EventTypes = []string{"TEXT", "RICH_CONTENT", "START", "CLOSE_CONVERSATION", "CONVERSATION", "hosted-file"}

// StateNames are the CONVERSATION state changes of the OpenAPI file.
var StateNames = []string{"STARTED", "TRANSFERRED", "CLOSED"}

// CheckEvent checks a POST events body against the OpenAPI file's
// ConversationChange schemas: a known type; data and context.lpEvent
// present (START's data may be empty); TEXT's data.message a string;
// RICH_CONTENT's data.content an object; CONVERSATION's data.name one of
// StateNames; hosted-file's data.relativePath and data.fileType strings.
// The builders below make only bodies that pass; tests that need a body
// outside the contract build it by hand.
func CheckEvent(body map[string]any) error {
	typ, _ := body["type"].(string)
	if !slices.Contains(EventTypes, typ) {
		return fmt.Errorf("lptest: type %q is not one of %v", typ, EventTypes)
	}
	data, ok := body["data"].(map[string]any)
	if !ok {
		return fmt.Errorf("lptest: %s: data is required, an object", typ)
	}
	ctx, _ := body["context"].(map[string]any)
	if _, ok := ctx["lpEvent"].(map[string]any); !ok {
		return fmt.Errorf("lptest: %s: context.lpEvent is required, an object", typ)
	}
	str := func(k string) bool { _, ok := data[k].(string); return ok }
	switch typ {
	case "TEXT":
		if !str("message") {
			return fmt.Errorf("lptest: TEXT: data.message is required, a string")
		}
	case "RICH_CONTENT":
		if _, ok := data["content"].(map[string]any); !ok {
			return fmt.Errorf("lptest: RICH_CONTENT: data.content is required, an object")
		}
	case "CONVERSATION":
		if name, _ := data["name"].(string); !slices.Contains(StateNames, name) {
			return fmt.Errorf("lptest: CONVERSATION: data.name %q is not one of %v", name, StateNames)
		}
	case "hosted-file":
		if !str("relativePath") || !str("fileType") {
			return fmt.Errorf("lptest: hosted-file: data.relativePath and data.fileType are required, strings")
		}
	}
	return nil
}

// HostedFileEvent is a consumer sharing a file: a path in LivePerson's
// storage (not a URL), its file type and an optional caption.
func HostedFileEvent(convID string, seq int, relativePath, fileType, caption string) map[string]any {
	data := map[string]any{"relativePath": relativePath, "fileType": fileType}
	if caption != "" {
		data["caption"] = caption
	}
	return map[string]any{"type": "hosted-file", "source": "CONSUMER", "data": data,
		"context": map[string]any{"lpEvent": lpEvent(convID, seq, map[string]any{"type": "ContentEvent", "contentType": "hosted/file"})}}
}

// StateEvent is a CONVERSATION state change (STARTED, TRANSFERRED, CLOSED).
func StateEvent(convID string, seq int, name string) map[string]any {
	return map[string]any{"type": "CONVERSATION", "source": "CONVERSATION",
		"data": map[string]any{"name": name}, "context": map[string]any{"lpEvent": lpEvent(convID, seq, nil)}}
}

// HostedFile posts a hosted-file event.
func (e Endpoint) HostedFile(convID string, seq int, relativePath, fileType, caption string) Request {
	return e.PostEvent(convID, HostedFileEvent(convID, seq, relativePath, fileType, caption))
}

// Transferred posts the CONVERSATION state change TRANSFERRED: the
// conversation was transferred to the bot.
func (e Endpoint) Transferred(convID string, seq int) Request {
	return e.PostEvent(convID, StateEvent(convID, seq, "TRANSFERRED"))
}

// TPB plays Third-Party Bots calling a Custom Endpoint for one
// conversation, as LivePerson's service implementation guide describes the
// consumer message flow: it creates the conversation (PUT) when it has not
// yet, then sends the event; on a 404 for the event it runs that again
// once (create, then send).
type TPB struct {
	Endpoint Endpoint
	ConvID   string
	// Conversation is the PUT body (ConversationBody).
	Conversation map[string]any
	// Do sends a request and returns the answer's status.
	Do func(Request) (int, error)

	created bool
	// Calls are the statuses of every request made, in order: what
	// LivePerson would see.
	Calls []TPBCall
}

// TPBCall is one request TPB made and the answer's status.
type TPBCall struct {
	Method string
	Type   string // the event type, for POST events
	Status int
}

// Create makes the PUT conversation call now.
func (p *TPB) Create() (int, error) {
	st, err := p.Do(p.Endpoint.CreateConversation(p.ConvID, p.Conversation))
	p.Calls = append(p.Calls, TPBCall{Method: http.MethodPut, Status: st})
	if err == nil && st == http.StatusOK {
		p.created = true
	}
	return st, err
}

// Send delivers an event body (it must pass CheckEvent), creating the
// conversation first when TPB has not, and again after a 404.
func (p *TPB) Send(body map[string]any) (int, error) {
	if err := CheckEvent(body); err != nil {
		return 0, err
	}
	for attempt := 0; attempt < 2; attempt++ {
		if !p.created {
			if st, err := p.Create(); err != nil || st != http.StatusOK {
				return st, err
			}
		}
		st, err := p.Do(p.Endpoint.PostEvent(p.ConvID, body))
		p.Calls = append(p.Calls, TPBCall{Method: http.MethodPost, Type: body["type"].(string), Status: st})
		if err != nil || st != http.StatusNotFound {
			return st, err
		}
		p.created = false
	}
	return http.StatusNotFound, nil
}

// SendFirst delivers an event before any PUT, as if TPB believed the
// conversation created: the endpoint's 404 makes it create it and resend.
func (p *TPB) SendFirst(body map[string]any) (int, error) {
	p.created = true
	return p.Send(body)
}
