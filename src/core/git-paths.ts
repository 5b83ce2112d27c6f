// The names git keeps for itself, and how long a path an executor edits may be. Git refuses to add
// a path with a segment it reads as its own folder: `.git` in any case, and, because some file
// systems read other spellings as the same folder, `.git` with trailing dots or spaces, with an
// NTFS alternate stream (`.git::$INDEX_ALLOCATION`), its NTFS 8.3 short name `git~1`, and `.git`
// with code points HFS+ ignores. Source: git's read-cache.c verify_path (2.39), path.c
// is_ntfs_dotgit, utf8.c is_hfs_dotgit / next_hfs_char.
import { utf8Bytes } from './text.js';

/**
 * Bounds of one edit operation's path, after normalisation (normalizeRelativePath): at most
 * `maxBytes` bytes of UTF-8 and `maxSegments` segments. Chosen so a path fits in any file system's
 * PATH_MAX (4,096 on Linux) with room for the worktree's own path, and so one path cannot make the
 * writer create thousands of folders (a rollback's `git clean` of them took ~77 s in review).
 */
export const EDIT_PATH_LIMITS = { maxBytes: 1024, maxSegments: 32 } as const;

/** Code points HFS+ ignores when it compares names (git's utf8.c next_hfs_char). */
const HFS_IGNORABLE = /[\u200c-\u200f\u202a-\u202e\u206a-\u206f\ufeff]/g;

/** `.git` or `git~1` (any case), then only dots and spaces, then the end or an NTFS stream (':'). */
const DOT_GIT = /^(?:\.git|git~1)[. ]*(?::.*)?$/i;

/**
 * True when git would read `segment` (one path segment, no separator) as its own `.git` folder on
 * some file system, so it refuses to add anything under it: '.git', '.GIT', '.git.', '.git ',
 * 'GIT~1', '.git::$INDEX_ALLOCATION', '.g\u200cit'. Stricter than git on this machine (HFS and
 * NTFS spellings are refused everywhere), as a worktree may be shared with such a machine.
 */
export function isGitFolderName(segment: string): boolean {
  return DOT_GIT.test(segment.replace(HFS_IGNORABLE, ''));
}

/** The first segment of a '/'-separated path that git reads as its own folder (isGitFolderName), or null. */
export function gitFolderSegment(path: string): string | null {
  return path.split('/').find(isGitFolderName) ?? null;
}

/**
 * Why a normalised path is too long to edit (EDIT_PATH_LIMITS), in words the model can act on, or
 * null when it is within bounds.
 */
export function pathTooLong(path: string): string | null {
  const bytes = utf8Bytes(path);
  const segments = path.split('/').length;
  if (bytes <= EDIT_PATH_LIMITS.maxBytes && segments <= EDIT_PATH_LIMITS.maxSegments) return null;
  return `the path is ${bytes.toLocaleString('en-US')} bytes long with ${segments} segments; a path may have at most ${EDIT_PATH_LIMITS.maxBytes.toLocaleString('en-US')} bytes and ${EDIT_PATH_LIMITS.maxSegments} segments`;
}
