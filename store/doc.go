// Package store owns everything on disk: the category folders of a layout,
// links into a UI's folder, .part files with their resume journals and locks,
// free-space checks, and the final verification and rename. It never speaks
// HTTP and never prints.
package store
