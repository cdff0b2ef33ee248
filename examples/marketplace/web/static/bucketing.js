/* Sticky rollout for the browser: the same function as marketplace/bucketing.py.
 * MurmurHash3 x86 32-bit (seed 0) of the UTF-8 bytes of "<flag>:<userId>", % 100 + 1,
 * compared with the rollout percentage, as Unleash's gradualRollout does. */
(function (root) {
  'use strict';

  function utf8(text) {
    return new TextEncoder().encode(String(text));
  }

  function murmur3_32(bytes, seed) {
    var h = seed >>> 0;
    var c1 = 0xcc9e2d51, c2 = 0x1b873593;
    var nblocks = bytes.length >> 2;
    var k, i;
    for (i = 0; i < nblocks; i++) {
      var j = i << 2;
      k = bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24);
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
      h = (h << 13) | (h >>> 19);
      h = (Math.imul(h, 5) + 0xe6546b64) | 0;
    }
    var tail = nblocks << 2;
    k = 0;
    switch (bytes.length & 3) {
      case 3: k ^= bytes[tail + 2] << 16; // falls through
      case 2: k ^= bytes[tail + 1] << 8;  // falls through
      case 1:
        k ^= bytes[tail];
        k = Math.imul(k, c1);
        k = (k << 15) | (k >>> 17);
        k = Math.imul(k, c2);
        h ^= k;
    }
    h ^= bytes.length;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  }

  function normalizedValue(flagName, userId) {
    return (murmur3_32(utf8(flagName + ':' + userId), 0) % 100) + 1;
  }

  function inRollout(flagName, userId, percentage) {
    if (userId === null || userId === undefined || String(userId) === '') return false;
    return normalizedValue(flagName, userId) <= percentage;
  }

  function featureOn(flag, userId) {
    return !!(flag && flag.enabled) && inRollout(flag.name || 'rating', userId, Number(flag.percentage));
  }

  var api = { murmur3_32: murmur3_32, utf8: utf8, normalizedValue: normalizedValue,
              inRollout: inRollout, featureOn: featureOn };
  if (typeof module !== 'undefined' && module.exports) module.exports = api;
  root.MarketplaceBucketing = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
