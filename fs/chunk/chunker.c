/*
 * FastCDC with normalized chunking (Xia et al., 2016/2020).
 *
 * The gear table, the two masks and the window rule below are part of the
 * chunk format (docs/on-disk-chunks.md, chunk format 1): changing any of them
 * changes every cut, so every node and every version must agree on them.
 */
#include "fs/chunk/chunker.h"

/*
 * gear[b] = the first 8 bytes, big-endian, of SHA-256("quorumfs-gear-v1" || b):
 * anyone can recompute the table (docs/on-disk-chunks.md has the script).
 */
static const uint64_t gear[256] = {
    0x2eec1649429921ebull, 0xece8aea44046cb6aull, 0xd4c90b68fc5f0b55ull, 0x522f7e88e4963d9full,
    0x42d50da07274f769ull, 0xa71fc80d878bf15dull, 0x3c372f0f9c2c1d80ull, 0x59fec0b8bd09ac62ull,
    0x73c02db95d785506ull, 0x80b6d92c55c93d22ull, 0x1faa86a41aaf2653ull, 0x16d31034244f6988ull,
    0x03c7ad7ca6c8dbb4ull, 0xd6f7906c3125b98cull, 0xf069b4cf4e816d05ull, 0x25d3f201251e0e07ull,
    0x637941c999fa9f35ull, 0x79dce643fd0e355full, 0x018697d1586e8970ull, 0xcde5e8f728bf9720ull,
    0x86fd0746f4fccb15ull, 0x6264fa91a8d5259cull, 0x4973a23e1a4dee82ull, 0xb0d6d6737f226a68ull,
    0x4aa32668f9260ff2ull, 0xe5c6e893eefb6986ull, 0x85e946bf6385d00full, 0x228f3daac8b42974ull,
    0x3659e20b9f755ac0ull, 0x96918b64f4c92e69ull, 0xd82897240e5c1f8eull, 0x9a395c7ebe4a9b68ull,
    0x22c36c486ec4e1c7ull, 0x9087436f6a2d4231ull, 0xbc6b82c67f7c5a22ull, 0x67745e0d31c1f680ull,
    0x35ad46922464afb8ull, 0xd4bccde24a9f4945ull, 0xa2f932c724d624f8ull, 0xe71a7a1a365c4d27ull,
    0x6628388442c0523full, 0x32e53cfc74d1f91dull, 0xf58891b9f7220e06ull, 0xf04ee126fcd6e4e5ull,
    0x741ea76bf8c42cd5ull, 0xbaabeb326d52ca8dull, 0xb44ba153e5f4f35eull, 0x074930db9426c57bull,
    0xb54e1531ad52dd00ull, 0x8d6d3b8396a0bb82ull, 0x855a2543a792ef0full, 0x4a9348e3600b0356ull,
    0x5028075061189a1eull, 0x813f3207f2bcf0b6ull, 0xf0745ae21998478full, 0x13e8e944c1b70bf4ull,
    0x8447f206780393e2ull, 0xbc93aa043f1f2379ull, 0x97804501b1e578d5ull, 0xc74bf386b8dd9af2ull,
    0xd1f7ef202d0aca64ull, 0xe6ba17c35e233e4eull, 0x96be31e4bb3ec758ull, 0xf1b5439a2418a01dull,
    0x14ecd0410a597975ull, 0x61d3fe2b4c96c98full, 0xbdb005730985ebdcull, 0x328b8c9ea36964f3ull,
    0xd506b865c60f9c11ull, 0x0d928da0023a10abull, 0x5106b305f1af6ba9ull, 0xfcd21057d44d77bdull,
    0xfb046b73a78f65a6ull, 0x5d312aa0f62fc668ull, 0xcfd04fc3720bba82ull, 0x46d815e56faf4d58ull,
    0x902618be02886276ull, 0x99ba0aa9d51b8f05ull, 0x6b82044664e85fadull, 0x3fbd4ecfe46e7b3eull,
    0x6a2bea9eb34bf861ull, 0x170d6055ff240fffull, 0x0062302b67c471baull, 0xe16c08ccee06db44ull,
    0xcb67ff4196c930c3ull, 0xe1572db517b7d509ull, 0xbf357ea45847a597ull, 0x997c574eae4c15adull,
    0x7ffc557eaf79ba3dull, 0x3d586c9e3d7644f3ull, 0xf3248a622e604ecfull, 0x017fb442ac4db87eull,
    0x6617555f06166758ull, 0x0ac0654a69d0f0feull, 0x2561ff9e3953b3d1ull, 0x2ada53663332368full,
    0xe46f8595cd344a59ull, 0x78ac022be9222618ull, 0xb122b91e1afec462ull, 0x6a57b2443cb960edull,
    0xbe2e7be5dcd97400ull, 0xbaa9f0082f6699a5ull, 0xea012cc1491c0e77ull, 0x9b95136d3cb6482dull,
    0x71ab2c2c5f617ac0ull, 0x2fc639a5598430beull, 0x5ec21c5a10ef5c26ull, 0x8d0cf2906bd71e0cull,
    0xf7c575d0fe3c94f4ull, 0xb88b2eb675c903faull, 0x6d2d4a18f0c0f096ull, 0xdab6da889fd68519ull,
    0xf39edc813bfa1cfeull, 0x96d86a5314a99414ull, 0xed75ad8f3f72045dull, 0x81eb4e1736dfd26dull,
    0x5a318c7d0a396ea6ull, 0x41ab3c71d62d71b2ull, 0x10ddb571d1fc6911ull, 0xc3a045c04d213fe7ull,
    0x00b3c267021b4539ull, 0x73fec74f2b3448f6ull, 0xdbf792a83b643883ull, 0xe3e4ab4516360740ull,
    0x20ae2ecead67ca2eull, 0x728cfa89a5155039ull, 0xebae68a5d22b9c08ull, 0xda8c5be893461e36ull,
    0x11ad2ec8c109710bull, 0x2a11637ef6d11ca9ull, 0x1d577ff98df5dfacull, 0xfcfb4dd027d3bbdaull,
    0x727e3ef399da8881ull, 0x6aed93045d9cfc53ull, 0xaf867c5471ff91b4ull, 0xfaa4c98d20ba2300ull,
    0xbc7afff8a7240eeeull, 0x7ae0524e8d102398ull, 0x74e6aa3609ac7dd7ull, 0xd58634bba94e1538ull,
    0x7a5ce5fb501b3ee0ull, 0x4046c88e0b93ebbbull, 0x818425d5ec181e65ull, 0x2bb872c5fca79bb9ull,
    0x855a534a39802840ull, 0x47f11691cf7c8396ull, 0x2b74944fc3c1b734ull, 0x728a2c84fad67aaaull,
    0x94fa9472fe3d699full, 0x07efa73f6c781db6ull, 0xd99de4f158a83a71ull, 0x3b824f8042a91f0cull,
    0x4c4ea81dd88b8a5eull, 0xc1f5108ee7a05e02ull, 0x8b24b14d5633bc9full, 0xd0693ec1b7dba8bdull,
    0x89dbc809d74e9e46ull, 0xd461e90eef88ac56ull, 0xffce4b039625aacbull, 0xdf90db73d8d0de92ull,
    0x2100eb4c72ce4e82ull, 0xab0137ad4ed033b5ull, 0x4b374803c0f4894bull, 0x849a4badf397f7f0ull,
    0x9e84f27508220632ull, 0x96fc9bd0d3a340e3ull, 0xb405e006f275aff3ull, 0xf93dc8c2603b3ad1ull,
    0x845e33368e895536ull, 0x362bb5f57b60bd4full, 0xe55abbfe6691b2dcull, 0x2f3be0d01241b39cull,
    0x256bb7abe6124f72ull, 0xdf7578e448bf25d0ull, 0x357a829fc6b0163dull, 0x2cfe6d965798fa3dull,
    0x2f567f423937bddbull, 0x7056fe9c014aedbaull, 0xc669f1fed5bb5aa9ull, 0x0d1866b3ae9fae1cull,
    0x3d66cd34273f6cefull, 0x88fdc275e5c7a99full, 0xc7822c56b34978f5ull, 0x7865434c7829f3b7ull,
    0xe2fede01f374e4aaull, 0x1bdd628413bcf793ull, 0xfc5cb9a71445950bull, 0x64b01e81d125fe83ull,
    0xfd444aadd4e97e79ull, 0x4f966fe0cd8fa971ull, 0x268b548779fb2a3cull, 0xcab5018899f04efbull,
    0xc492ab05f45f41d7ull, 0x972f41de86fd9da3ull, 0xf6a48df06c8d7e51ull, 0xd0c94eced4180563ull,
    0x13a1797e65ea5c6aull, 0x580c6e64e7b38b79ull, 0xe314bfc177bf18ceull, 0xaec59ecad9afc88aull,
    0x1fbfa972f5b673a0ull, 0xcec52a57d474a16aull, 0x87597dea8fb78508ull, 0x19d7f4ff85a60ed4ull,
    0x7f0d5ed49e97231cull, 0x1758f6aa3bd1633dull, 0x747db1d213b0178bull, 0xe225c5f24724a8c6ull,
    0x96b06eda965f7c97ull, 0x395c2e2b30dcd680ull, 0x6f802eaeac66347bull, 0xa30e193f117c2837ull,
    0xab2d281e846683b0ull, 0xc477b8cf909831e9ull, 0x9c5a95f0da55cd0bull, 0x3378f01de4b2b54bull,
    0x796cf1cba491af09ull, 0xc6a9ab2afe2d7055ull, 0xcab058c5b9e20c23ull, 0xdf97b53ef4856ee4ull,
    0xe3c386ed3ef0a9d1ull, 0xd5736155d3102a37ull, 0x2b20dad61c84cef6ull, 0x350a5bc2af07cec6ull,
    0x5de3c0754aaeb607ull, 0xa769294d77001ca9ull, 0x4f345e7cdc964eafull, 0x4e023647cc3edcfbull,
    0x7e6e2d97f97aed67ull, 0xdfbdad3bdc8a483aull, 0x6249ca4c725d4b36ull, 0xf1570fade2ca49b8ull,
    0xd1c267aefc44053eull, 0xa169b4e50a2486c6ull, 0x8ac4a3b35725cb67ull, 0x622670b2532e03c5ull,
    0x8ea46da8d96fffbcull, 0x3baf6440ea2e6c2dull, 0xcac63549f66ca4deull, 0x3e0756665fa6c8edull,
    0xc4705b80b8f74eaaull, 0xfc995fe8422aa7f3ull, 0x09d7e41d78d2351full, 0x3f58dd5c0fcdb71full,
    0x430199c9a1ea7fd3ull, 0x8311821e3e20b8b5ull, 0x78a2564cb38a5784ull, 0xc1ce8e8b7cbeb508ull,
    0xf8613b0229fa3b35ull, 0xab9e83ef32d9d95bull, 0x2306ff6ff89441dbull, 0x8d17ff85b35098ffull,
    0xe37f606ed6e195fbull, 0x265d965a55a796d8ull, 0x8ec1cb16351338bcull, 0x3c802f8faddfcbabull,
};

/*
 * fp = (fp << 1) + gear[byte]: bit k of fp depends on the last k + 1 bytes
 * only, so testing the TOP bits makes a cut depend on the last 64 bytes.
 * Normalized chunking, level 2 around 15 bits: the stricter MASK_S (17 bits,
 * p = 2^-17) below CHUNK_AVG, the looser MASK_L (13 bits) from CHUNK_AVG on.
 * With the 16 KiB minimum that puts the mean near 64 KiB (61.5 KiB expected,
 * sd 18.6 KiB) and makes chunks above 128 KiB rare.
 */
#define MASK_S (~0ull << (64 - 17))
#define MASK_L (~0ull << (64 - 13))
#define WINDOW 64u

/* Scans [from, end) for the first cut; returns its chunk length or 0. */
static size_t scan(const uint8_t *data, size_t from, size_t end, uint64_t mask, uint64_t *fp)
{
    uint64_t h = *fp;
    for (size_t i = from; i < end; i++) {
        h = (h << 1) + gear[data[i]];
        if (!(h & mask))
            return i + 1;
    }
    *fp = h;
    return 0;
}

size_t chunker_next_cut(const uint8_t *data, size_t len, bool at_eof)
{
    if (len <= CHUNK_MIN)
        return at_eof ? len : 0;
    /* Warm the hash over the window before the first possible cut, so the
     * cut at any position depends only on the 64 bytes ending there. */
    uint64_t fp = 0;
    for (size_t i = CHUNK_MIN - WINDOW; i < CHUNK_MIN - 1; i++)
        fp = (fp << 1) + gear[data[i]];
    size_t end = len < CHUNK_MAX ? len : CHUNK_MAX;
    size_t mid = end < CHUNK_AVG ? end : CHUNK_AVG;
    size_t cut = scan(data, CHUNK_MIN - 1, mid, MASK_S, &fp);
    if (!cut && end > mid)
        cut = scan(data, mid, end, MASK_L, &fp);
    if (cut)
        return cut;
    if (end == CHUNK_MAX)
        return CHUNK_MAX;
    return at_eof ? len : 0;
}
