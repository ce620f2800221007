package source

import "strings"

// Attachment is a file the visitor sent, as every adapter passes it to the
// AI agent: one line "[image] <ref>" or "[file] <ref>", after the caption
// when there is one. Ref is a URL the AI agent can open or, when Private,
// one that needs the platform's credentials (a private attachment, or a
// platform file reference that is not a URL at all): the line then says
// "[image, private] <ref>", so nobody reading the conversation mistakes it
// for a link that opens.
type Attachment struct {
	Kind    string // AttachImage or AttachFile
	Ref     string
	Caption string
	Private bool
}

// Kinds of attachment.
const (
	AttachImage = "image"
	AttachFile  = "file"
)

// Text is the attachment as message text, "" when there is no reference.
func (a Attachment) Text() string {
	ref := strings.TrimSpace(a.Ref)
	if ref == "" {
		return ""
	}
	kind := a.Kind
	if kind != AttachImage {
		kind = AttachFile
	}
	if a.Private {
		kind += ", private"
	}
	line := "[" + kind + "] " + ref
	if c := strings.TrimSpace(a.Caption); c != "" {
		return c + "\n" + line
	}
	return line
}
