// Package sim is an offline stand-in for the services provision downloads
// from: the HuggingFace hub and its signed CDN, the CivitAI API, download
// endpoint and signed storage, plain Range-capable file servers, and the
// Google Drive, GitHub and Dropbox link forms. It listens on loopback only
// and serves deterministic virtual files of any size (see Content), so
// tests, the demo and the benchmarks need neither the network nor disk
// space. It imports only the standard library (and internal/span).
//
// # Use
//
//	s, err := sim.Start(sim.Config{})        // DefaultCatalog
//	defer s.Close()
//	os.Setenv("HF_ENDPOINT", s.HubURL)       // or s.Env(), s.DemoEnv()
//	f := s.Catalog.Repo("black-forest-labs/FLUX.1-dev").File("ae.safetensors")
//	want := f.SHA256()                        // what the download must hash to
//	st := s.Stats().File(f.Seed())            // what was served of it
//
// # Hosts and URLs
//
// HubURL, CivitAIURL and FilesURL are three servers on 127.0.0.1; CDNURL
// is on 127.0.0.2 (or "localhost" when that cannot be bound), another host
// name, so that clients drop Authorization on the redirect to it.
//
// HuggingFace (HubURL; "datasets/" or "spaces/" before the repo for those kinds):
//
//	/{org}/{name}/resolve/{rev}/{path}   LFS file: 302 to CDNURL/lfs/...,
//	    X-Linked-Size, X-Linked-Etag (quoted sha256), X-Repo-Commit, ETag,
//	    Content-Disposition: inline; filename*=UTF-8''<name>; filename="<name>";
//	    small file (.json .txt .md .yaml .yml .py .cfg .gitattributes, or
//	    Body set): 307 to the relative /api/resolve-cache/... (X-Linked-Etag
//	    is then a quoted git sha1), which answers 200 with the bytes
//	/{org}/{name}/blob/{rev}/{path}      an HTML page
//	/api/{models|datasets|spaces}/{org}/{name}[/revision/{rev}][?blobs=true]
//	/api/{models|datasets|spaces}/{org}/{name}/tree/{rev}[/{dir}][?recursive=true]
//	    pages of Config.TreePageSize, next page in Link: <...>; rel="next"
//	/api/whoami-v2
//
// Errors carry X-Error-Code and X-Error-Message and a JSON body
// {"error": message}: EntryNotFound (404, with X-Repo-Commit),
// RevisionNotFound (404), GatedRepo (401 without a token, 403 with an
// unapproved one), RepoNotFound (404, a token was sent); a private or
// missing repo without a token answers 401 with WWW-Authenticate and no
// X-Error-Code; an unknown token 401 {"error":"Invalid credentials in
// Authorization header"}. Only "Authorization: Bearer" carries a token.
//
// CivitAI (CivitAIURL): /api/v1/model-versions/{id}, /api/v1/models/{id},
// /api/download/models/{versionId}?type=&format=&size=&fp=&fileId=&token=
// (307 to CDNURL/storage/...; login wall, early access, archived, disabled
// and missing-file answers as documented on Version), /login (HTML).
//
// Signed URLs (CDNURL): /{lfs|storage}/{n}/{name}?Expires=&Signature=&
// Key-Pair-Id=. They answer Range with 206, 416 "bytes */size" past the end,
// 400 XML when the request carries Authorization, 403 XML AccessDenied when
// expired (Config.URLLifetime, Faults.URLLifetime) or tampered with.
// Storage answers add Content-Disposition: attachment; filename="<name>"
// with the name in raw UTF-8.
//
// Plain files (FilesURL): /{PlainFile.Name}, any query ignored. Link forms
// are served on the same host under their real host name, so that a link
// maps onto the simulator by replacing "https://" with FilesURL + "/":
//
//	/drive.google.com/file/d/{id}/view                      share page (HTML)
//	/drive.google.com/uc?id={id}&export=download            the file, or above
//	    DriveScanLimit a 200 HTML virus-scan page whose GET form points at
//	    /drive.usercontent.google.com/download with hidden id, export,
//	    confirm and uuid inputs; asked with all of them it gives the file
//	/github.com/{owner}/{repo}/blob/{ref}/{path}            HTML page
//	/github.com/{owner}/{repo}/raw/{ref}/{path}             302 to raw
//	/raw.githubusercontent.com/{owner}/{repo}/{ref}/{path}  bytes, or the LFS pointer
//	/media.githubusercontent.com/media/{owner}/{repo}/{ref}/{path}  LFS bytes
//	/www.dropbox.com/scl/fi/{id}/{name}?rlkey=&dl=0         preview (HTML);
//	    dl=1 302s to /dl.dropboxusercontent.com/scl/fi/{id}/{name}?rlkey=&dl=1
//
// # Files, seeds and faults
//
// Every served file is a virtual file named by its seed (RepoFile.Seed,
// CivitFile.Seed, PlainFile.Seed...), unless it has a Body. Stats are keyed
// by seed; SetFaults accepts the seed or a friendlier key. Faults lists the
// misbehaviour a test can switch on, globally (Config.Faults) or per file.
package sim
