// Package store owns everything on disk: the category folders of a layout,
// links into a UI's folder, .part files with their resume journals and locks,
// free-space checks, and the final verification and rename. It never speaks
// HTTP and never prints.
//
// # Placing files
//
// A Layout maps the canonical categories to folders under the models dir
// (NewLayout, Folders) and turns a target's relative name into a final path
// that provably stays inside its category folder (Layout.Final). Present
// says whether a final path already holds the wanted bytes, and Link makes
// the UI's folders show the models dir.
//
// # Downloading into a Part
//
// While final downloads, these names sit beside it:
//
//	<final>.part             the data, preallocated, written with pwrite;
//	                         also the lock (flock, exclusive, non-blocking)
//	<final>.part.journal     the source Identity and the byte ranges that
//	                         are durably in the .part: two checksummed
//	                         states, rewritten alternately in place
//	<final>.part.journal.tmp only while the journal is created or regrown
//
// A Part is the engine's Output. Commit records written ranges; once 8 MiB
// are committed but not yet durable, or a second has passed, a background
// checkpoint fdatasyncs the data and only then writes the journal's older
// slot and fdatasyncs it, so the journal never claims bytes that are not
// on disk, a torn write leaves the previous state readable, and a crash
// costs about the bytes committed since the last checkpoint. Finish
// verifies (size, sha256 hashed along the growing prefix, safetensors
// header) and renames the .part over final; a file that fails is never
// renamed.
//
// Each folder that received a verified file also holds
// .provision-verified.json, the cache that lets Present skip rehashing
// unchanged files.
package store
