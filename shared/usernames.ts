/**
 * The key that makes usernames unique: NFKC folds compatibility forms ("Ａlice" → "Alice",
 * "ﬁ" → "fi"), then upper- and lower-casing approximates Unicode full case folding
 * ("Straße" and "STRASSE" collide, as do "alice" and "ALICE"). The username itself is stored as typed.
 */
export function usernameKey(username: string): string {
  return username.normalize('NFKC').toUpperCase().toLowerCase().normalize('NFKC')
}
