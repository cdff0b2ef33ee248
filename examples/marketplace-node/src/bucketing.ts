// The feature flag's gradual rollout, identical to deploy/flag/rollout.py and the Python stand-in:
// murmur3 (x86, 32-bit, seed 0) of "<flag>:<userId>" (UTF-8), % 100 + 1; a user is in when that
// is <= the percentage, so raising the percentage only adds users (as Unleash does).

export function murmur3_32(data: Uint8Array, seed = 0): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = seed >>> 0;
  const blocks = data.length >> 2;
  for (let i = 0; i < blocks; i++) {
    const o = i * 4;
    let k = data[o] | (data[o + 1] << 8) | (data[o + 2] << 16) | (data[o + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const tail = blocks * 4;
  let k = 0;
  switch (data.length & 3) {
    case 3: k ^= data[tail + 2] << 16; // falls through
    case 2: k ^= data[tail + 1] << 8; // falls through
    case 1:
      k ^= data[tail];
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= data.length;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The user's fixed point on the 1..100 scale for this flag. */
export function bucket(flag: string, userId: string | number): number {
  return (murmur3_32(new TextEncoder().encode(`${flag}:${userId}`)) % 100) + 1;
}

/** No user id, no gradual rollout (as Unleash). */
export function inRollout(flag: string, userId: string | number | null | undefined, percentage: number): boolean {
  if (userId === null || userId === undefined || String(userId) === "") return false;
  return bucket(flag, userId) <= percentage;
}
