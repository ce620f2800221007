package source

import "testing"

func TestAttachmentText(t *testing.T) {
	tests := []struct {
		a    Attachment
		want string
	}{
		{Attachment{Kind: AttachImage, Ref: "https://m.example/a.png"}, "[image] https://m.example/a.png"},
		{Attachment{Kind: AttachFile, Ref: "https://m.example/a.pdf", Caption: " The invoice "}, "The invoice\n[file] https://m.example/a.pdf"},
		{Attachment{Kind: AttachImage, Ref: "https://m.example/a.png", Private: true}, "[image, private] https://m.example/a.png"},
		{Attachment{Kind: "video", Ref: "/v1/AUTH_async-images/x.mp4", Private: true}, "[file, private] /v1/AUTH_async-images/x.mp4"},
		{Attachment{Kind: AttachImage, Ref: "  ", Caption: "nothing to point at"}, ""},
	}
	for _, tt := range tests {
		if got := tt.a.Text(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.a, got, tt.want)
		}
	}
}
