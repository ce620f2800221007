package twilio

import (
	"context"
	"fmt"

	"github.com/crmbridge/crmbridge/shared/source"
	"github.com/crmbridge/crmbridge/shared/state"
	"github.com/crmbridge/crmbridge/shared/ultimate"
)

// Built-in actions served by the Twilio source.
const (
	// BuiltinGetUserInfo answers profileName (WhatsApp), channel and
	// country; phoneNumber only with settings shareVisitorNumber.
	BuiltinGetUserInfo = "getUserInfo"
)

// Builtin implements source.Builtins.
func (a *Adapter) Builtin(ctx context.Context, acct *source.Account, conv source.Conversation, req source.ActionRequest) ([]ultimate.ActionResult, error) {
	if req.Builtin != BuiltinGetUserInfo {
		return nil, fmt.Errorf("built-in action %q: %w (the Twilio source serves %s and closeConversation)", clip(req.Builtin, 64), source.ErrUnsupported, BuiltinGetUserInfo)
	}
	out := []ultimate.ActionResult{}
	if v := req.Attrs[AttrName]; v != "" {
		out = append(out, ultimate.ActionResult{Key: "profileName", Value: v, Sanitize: true})
	}
	channel, country := req.Attrs[AttrChannel], req.Attrs[AttrCountry]
	c, err := a.api(acct)
	if err != nil {
		return nil, err
	}
	if channel == "" || c.st.ShareVisitorNumber {
		_, e, err := a.lookup(ctx, acct, conv.ID)
		if err != nil {
			return nil, err
		}
		channel = e.Visitor.Channel
		if country == "" {
			country = countryOf(e.Visitor.Number, "")
		}
		if c.st.ShareVisitorNumber {
			out = append(out, ultimate.ActionResult{Key: "phoneNumber", Value: e.Visitor.Number, Sanitize: true})
		}
	}
	out = append(out, ultimate.ActionResult{Key: "channel", Value: channel})
	if country != "" {
		out = append(out, ultimate.ActionResult{Key: "country", Value: country})
	}
	return out, nil
}

// Close implements source.Closer (the closeConversation built-in): the
// conversation ends for the bridge, and the visitor's next message opens a
// new one, a fresh AI-agent session. Nothing is sent to the visitor.
func (a *Adapter) Close(ctx context.Context, acct *source.Account, conv source.Conversation) error {
	if _, err := a.api(acct); err != nil {
		return err
	}
	addr, _, err := a.lookup(ctx, acct, conv.ID)
	if err != nil {
		return err
	}
	if err := a.State.CloseAddress(ctx, addr); err != nil {
		return err
	}
	return a.State.SetStatus(ctx, conv.PCID(), acct.AgentID, state.ConvEnded, "")
}
