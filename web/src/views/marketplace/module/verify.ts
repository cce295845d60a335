// The command that checks a downloaded archive against the marketplace's signature
// (README, "What is signed"): `marketplace verify FILE --module SLUG --version V`. The CLI
// builds the signed statement itself from the slug and version asked for, the archive's
// manifest and the file's own hash, so the command names only what the buyer expects.

/** A word for a POSIX shell: as is when plain, else in single quotes. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._+:/=-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`
}

/** The archive's name as the marketplace serves it: `{technical_name}-{version}.zip`. */
export function archiveName(technicalName: string, version: string): string {
  return `${technicalName}-${version}.zip`
}

export function verifyCommand(slug: string, technicalName: string, version: string): string {
  return [
    'marketplace',
    'verify',
    archiveName(technicalName, version),
    '--module',
    slug,
    '--version',
    version,
  ]
    .map(shellWord)
    .join(' ')
}
