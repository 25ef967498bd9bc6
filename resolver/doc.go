// Package resolver reads a provisioning manifest and turns each entry into
// the files it stands for: final download URL, exact size, sha256 when the
// source knows it, and a safe file name. It knows HuggingFace, CivitAI and
// plain URLs (with the page links users paste), speaks HTTP, and never
// touches the disk.
package resolver
