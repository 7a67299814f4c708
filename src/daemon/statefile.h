/* statefile.h: the learned AllowedIPs (ownership, L) of one interface kept
 * across restarts (docs/spec.md section 6), in STATE_DIR/IFNAME.state,
 * written ahead of the WireGuard changes that create them.
 *
 * The format (docs/spec.md 6.2) is plain text, one record a line, '\n' line ends:
 *
 *   wg-rtsync-state 3 DEVICE-PUBLIC-KEY
 *   # comment lines (written: one explaining the columns)
 *   PEER-KEY PREFIX [DISPLACED-PEER-KEY]
 *   ...
 *   end N
 *   ? PEER-KEY PREFIX [DISPLACED-PEER-KEY]
 *   ...
 *   end N
 *   + PEER-KEY PREFIX [DISPLACED-PEER-KEY]
 *   - PREFIX
 *   ...
 *   end N
 *   ...
 *
 * Keys in base64, prefixes as "addr/len" with host bits clear. The first
 * part is a snapshot; "end N" closes it with the number of entries, so a
 * truncated snapshot is never taken for a shorter list. It is replaced
 * atomically (temporary file in the same directory, fsync, rename, fsync of
 * the directory). Each later block is appended and synced in one write, so
 * that a round costs O(its changes) rather than O(all entries); its "end N"
 * gives the number of entries after it. Two kinds:
 *
 * - an intent block ("?" lines), written before the WireGuard changes of
 *   a pass: PREFIX is about to be added to PEER as a learned AllowedIP and,
 *   if that happens, owned as the line says;
 * - a change block ("+": PREFIX is owned as the line says, replacing any
 *   earlier line for it; "-": no longer owned; or no line at all), written
 *   after the round: what the round did. It settles every intent before it.
 *
 * Intents that no change block follows are those of a round a crash cut
 * short: loading returns them after the entries, and each counts only
 * where the device shows that its add happened (rec_own_load). A last block
 * without its end line is one whose write did not finish (a crash): it is
 * ignored, as if the crash had come before it. Version 1 (a snapshot only)
 * and version 2 files (no intents, no empty blocks) are read too. A file
 * that does not belong to the device or cannot be read is never deleted: it
 * is renamed to IFNAME.state.bad-YYYYMMDDTHHMMSSZ (plus -N if that exists).
 *
 * The directory is opened as statedir.h says (refused when another user
 * could change it), and every file in it relative to that descriptor, never
 * following a symbolic link (O_NOFOLLOW): the daemon runs as root, and a
 * link there would send its writes elsewhere. */
#ifndef WGRS_STATEFILE_H
#define WGRS_STATEFILE_H

#include <stddef.h>

#include "model.h"
#include "wgkey.h"

#define STATEFILE_VERSION 3
/* statefile_load's result when the file was bad and has been set aside. */
#define STATEFILE_SET_ASIDE 1
/* Enough room for any message these functions write. */
#define STATEFILE_MSG_LEN 1024

/* "STATE_DIR/IFNAME.state" into buf. -EINVAL for an interface name that is
 * not a plain file name (empty, "/", ".", "..", longer than 15), -ENAMETOOLONG
 * when buf is too small. Public for the unit test of that rule. */
int statefile_path(const char *state_dir, const char *ifname, char *buf, size_t len);

/* Writes the entries for the device with public key device (a zero key is
 * written and matched like any other). Creates a missing state_dir (mode
 * 0700, parents too). Returns 0, or -errno with one line in msg (-EPERM: the
 * directory is refused, statedir.h); on failure the previous file is left
 * as it was, and no temporary file remains. */
int statefile_save(const char *state_dir, const char *ifname, const struct wg_key *device,
		   const struct own_entry *v, size_t n, char *msg, size_t msglen);

/* Appends the changes of one round to the file statefile_save wrote, as one
 * block (count: the number of entries after them; n may be 0, to settle the
 * intents before it), and syncs it. -ENOENT
 * when there is no file to append to; on any failure the caller writes the
 * whole file with statefile_save instead. *bytes (may be NULL) gets the
 * size of the block. The daemon appends in two steps (below); this one
 * step is the tests'. */
int statefile_append(const char *state_dir, const char *ifname,
		     const struct own_change *v, size_t n, size_t count, size_t *bytes,
		     char *msg, size_t msglen);
/* The same in two steps, for a caller that appends every round: the file
 * opened once (-ENOENT: none; close the fd after the next statefile_save,
 * which replaces the file), then each block appended and synced. */
int statefile_open_append(const char *state_dir, const char *ifname, int *fd, char *msg,
			  size_t msglen);
int statefile_append_to(int fd, const struct own_change *v, size_t n, size_t count,
			size_t *bytes, char *msg, size_t msglen);
/* Appends an intent block (n > 0 entries about to be learned; count: the
 * number of entries, which intents do not change) and syncs it. */
int statefile_append_intents(int fd, const struct own_entry *v, size_t n, size_t count,
			     size_t *bytes, char *msg, size_t msglen);

/* Reads the file for the device. Returns
 *   0: *out holds *n entries (none for a missing file; caller frees *out),
 *      followed by *n_intents intents left unsettled by a crash (n_intents
 *      may be NULL: then the caller ignores them), to be loaded after the
 *      entries;
 *   STATEFILE_SET_ASIDE: the file was for another key, of another version,
 *      unreadable or malformed; it was renamed aside, msg says why and where
 *      to; *n = 0;
 *   -errno: nothing could be done (for instance the bad file could not be
 *      renamed); msg says why; *n = 0.
 * In every case *out may be passed to free(). Also removes temporary files
 * that a crash during statefile_save left for this interface. */
int statefile_load(const char *state_dir, const char *ifname, const struct wg_key *device,
		   struct own_entry **out, size_t *n, size_t *n_intents, char *msg,
		   size_t msglen);
/* Reads the file as statefile_load does, but changes nothing (a dry run):
 * 0 with the entries and intents (none for a missing file), -ESTALE or
 * -EINVAL for a file statefile_load would set aside, or -errno; msg says
 * why. */
int statefile_read(const char *state_dir, const char *ifname, const struct wg_key *device,
		   struct own_entry **out, size_t *n, size_t *n_intents, char *msg,
		   size_t msglen);

/* The text format alone, for the unit tests and tests/fuzz/fuzz_statefile.c.
 * The text of a file, in a malloc'd buffer (*text, *len). 0 or -ENOMEM. */
int statefile_format(const struct wg_key *device, const struct own_entry *v, size_t n,
		     char **text, size_t *len);
/* The text of one appended block of changes, or of intents. 0 or -ENOMEM. */
int statefile_format_changes(const struct own_change *v, size_t n, size_t count,
			     char **text, size_t *len);
int statefile_format_intents(const struct own_entry *v, size_t n, size_t count,
			     char **text, size_t *len);
/* Parses len bytes of text (need not be NUL-terminated). Returns 0 with the
 * entries and the unsettled intents after them (as statefile_load), -ESTALE
 * when the file is for another device key, -EINVAL when it is malformed or
 * of another version, -ENOMEM; why gets one line. */
int statefile_parse(const char *text, size_t len, const struct wg_key *device,
		    struct own_entry **out, size_t *n, size_t *n_intents, char *why,
		    size_t whylen);

#endif
