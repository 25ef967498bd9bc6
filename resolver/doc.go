// Package resolver reads a provisioning manifest and turns each entry into
// the files it stands for: final download URL, exact size, sha256 when the
// source knows it, and a safe file name. It knows HuggingFace, CivitAI and
// plain URLs (with the page links users paste), speaks HTTP, and never
// touches the disk.
//
// # Tokens
//
// Tokens are trimmed of surrounding whitespace, sent only to their own
// service's host, and never appear in an error. HF_TOKEN can be checked
// before anything else (CheckHFToken asks the hub's whoami endpoint).
// CIVITAI_TOKEN cannot: CivitAI has no documented endpoint that says
// whether a key is valid, and its download endpoint treats an invalid key
// as no key at all. A bad CivitAI token therefore shows only on an entry
// that needs a login, while that entry is resolved (still before any byte
// of it is fetched), as "CivitAI refused to download version N although a
// token was sent: the token is invalid or the creator disabled downloads".
// Entries that need no login go ahead with or without a valid token.
package resolver
