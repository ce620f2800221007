package sunshine

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"unicode"
)

// MetadataTags is the conversation metadata key that holds the tags added
// by the addTags action until the handover passes them on (the AI agent's
// native SunCo integration keeps its tags under the same key).
const MetadataTags = "tags"

// maxMetadata is SunCo's limit on a metadata object (4 KB).
const maxMetadata = 4096

type conversationAnswer struct {
	Conversation struct {
		ID       string         `json:"id"`
		Metadata map[string]any `json:"metadata"`
	} `json:"conversation"`
}

// conversationMetadata reads a conversation's metadata (never nil).
func (c *api) conversationMetadata(ctx context.Context, conv string) (map[string]any, error) {
	var out conversationAnswer
	if err := c.do(ctx, "GetConversation", http.MethodGet, c.convPath(conv, ""), nil, &out); err != nil {
		return nil, err
	}
	if out.Conversation.Metadata == nil {
		return map[string]any{}, nil
	}
	return out.Conversation.Metadata, nil
}

type metadataPatch struct {
	Metadata map[string]any `json:"metadata"`
}

// setConversationMetadata writes the whole metadata object. Whether SunCo
// merges or replaces on PATCH is not documented, so callers read, modify
// and write everything back, which is correct either way.
func (c *api) setConversationMetadata(ctx context.Context, conv string, md map[string]any) error {
	return c.do(ctx, "UpdateConversation", http.MethodPatch, c.convPath(conv, ""), metadataPatch{Metadata: md}, nil)
}

type messagesAnswer struct {
	Messages []struct {
		ID     string `json:"id"`
		Author struct {
			Type     string   `json:"type"`
			Subtypes []string `json:"subtypes"`
		} `json:"author"`
		Received string `json:"received"`
	} `json:"messages"`
}

// firstMessageID finds where the current bot episode began, for the
// Agent Workspace's first_message_id: the oldest message after the latest
// human agent's message (author subtype "agent") in the newest page of
// history (up to 100 messages). "" when nothing follows such a message.
func (c *api) firstMessageID(ctx context.Context, conv string) (string, error) {
	var out messagesAnswer
	if err := c.do(ctx, "ListMessages", http.MethodGet, c.convPath(conv, "/messages"), nil, &out); err != nil {
		return "", err
	}
	msgs := out.Messages
	// The page is chronological; sorting by the received timestamp (ISO
	// 8601, fixed format) keeps that true whatever order it came in.
	sort.SliceStable(msgs, func(i, j int) bool { return msgs[i].Received < msgs[j].Received })
	first := ""
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.Author.Type == "business" && slices.Contains(m.Author.Subtypes, "agent") {
			break
		}
		first = m.ID
	}
	return first, nil
}

type participantsAnswer struct {
	Participants []struct {
		UserID string `json:"userId"`
	} `json:"participants"`
}

// conversationUser is the conversation's (first) participant's user ID.
func (c *api) conversationUser(ctx context.Context, conv string) (string, error) {
	var out participantsAnswer
	if err := c.do(ctx, "ListParticipants", http.MethodGet, c.convPath(conv, "/participants"), nil, &out); err != nil {
		return "", err
	}
	for _, p := range out.Participants {
		if p.UserID != "" {
			return p.UserID, nil
		}
	}
	return "", fmt.Errorf("sunshine ListParticipants: conversation %s has no user participant", conv)
}

type userAnswer struct {
	User user `json:"user"`
}

func (c *api) getUser(ctx context.Context, userID string) (*user, error) {
	var out userAnswer
	if err := c.do(ctx, "GetUser", http.MethodGet, c.userPath(userID), nil, &out); err != nil {
		return nil, err
	}
	return &out.User, nil
}

// splitTags reads tags separated by whitespace, commas or the configured
// separator, dropping duplicates (Zendesk tags are case-insensitive).
func splitTags(s, sep string) []string {
	f := strings.FieldsFunc(s, func(r rune) bool {
		return unicode.IsSpace(r) || r == ',' || strings.ContainsRune(sep, r) || !unicode.IsPrint(r)
	})
	return mergeTags(nil, f)
}

func mergeTags(have, add []string) []string {
	seen := make(map[string]bool, len(have)+len(add))
	out := make([]string, 0, len(have)+len(add))
	for _, t := range append(slices.Clone(have), add...) {
		k := strings.ToLower(t)
		if t == "" || seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, t)
	}
	return out
}

// metadataTags reads the stored tags from conversation metadata.
func metadataTags(md map[string]any, sep string) []string {
	s, _ := md[MetadataTags].(string)
	return splitTags(s, sep)
}

// metadataSize is the encoded size SunCo's 4 KB limit applies to.
func metadataSize(md map[string]any) int {
	b, err := json.Marshal(md)
	if err != nil {
		return maxMetadata + 1
	}
	return len(b)
}
