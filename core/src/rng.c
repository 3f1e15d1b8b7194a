/* SPDX-License-Identifier: Apache-2.0 */
/* The pseudo-random generator both worlds use (vc/ctx.h): xoshiro256**, seeded by splitmix64. */
#include <stdint.h>

#include <vc/ctx.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64: spreads a seed over the state, as the generator's authors recommend. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void vc_xoshiro_seed(struct vc_xoshiro *x, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        x->s[i] = splitmix64(&seed);
}

uint64_t vc_xoshiro_next(void *data)
{
    uint64_t *s = ((struct vc_xoshiro *) data)->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}
