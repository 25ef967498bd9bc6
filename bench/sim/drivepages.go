package sim

import "net/http"

// The pages Google Drive answers with status 200 in place of a file it
// will not hand out (DriveFile.Refuse).
const (
	// DriveQuota: "Download quota exceeded": too many people downloaded
	// the file recently.
	DriveQuota = "quota"
	// DriveSignIn: the file is not shared publicly; Drive shows its
	// sign-in page.
	DriveSignIn = "signin"
)

// driveRefusal answers the page f.Refuse names, as a 200 HTML page.
func driveRefusal(w http.ResponseWriter, f *DriveFile) {
	switch f.Refuse {
	case DriveSignIn:
		htmlPage(w, http.StatusOK, "Google Drive: Sign-in",
			`<form action="https://accounts.google.com/v3/signin/identifier" method="post">`+
				`<h1>Sign in</h1><p>to continue to Google Drive</p>`+
				`<input type="email" name="identifier"></form>`)
	default:
		htmlPage(w, http.StatusOK, "Google Drive - Quota exceeded",
			`<p class="uc-error-caption">Sorry, you can't view or download this file at `+
				`this time.</p><p class="uc-error-subcaption">Too many users have viewed or `+
				`downloaded this file recently. Please try accessing the file again later.</p>`)
	}
}
