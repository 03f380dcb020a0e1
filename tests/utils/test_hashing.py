"""File digests: the published test vectors of the algorithms, and independence from the read size."""

import hashlib

from ganaudit.utils.hashing import file_digest, md5_file, sha256_file


def test_published_digests_of_abc(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    # FIPS 180-2 and RFC 1321 test vectors for the message "abc"
    assert sha256_file(path) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert md5_file(path) == "900150983cd24fb0d6963f7d28e17f72"


def test_chunked_reads_equal_one_read(tmp_path):
    data = bytes(range(256)) * 1000 + b"tail"          # 256,004 bytes: not a multiple of any chunk below
    path = tmp_path / "blob"
    path.write_bytes(data)
    whole = hashlib.sha256(data).hexdigest()
    assert {file_digest(path, "sha256", chunk=c) for c in (1, 7, 4096, 1 << 22)} == {whole}
    # another algorithm is honoured, not silently replaced by sha256
    assert file_digest(path, "sha1", chunk=7) == hashlib.sha1(data).hexdigest()


def test_algorithm_names_select_the_algorithm(tmp_path):
    path = tmp_path / "abc"
    path.write_bytes(b"abc")
    # FIPS 180-2 test vector for "abc" under SHA-1
    assert file_digest(path, "sha1") == "a9993e364706816aba3e25717850c26c9cd0d89d"
    assert file_digest(path, "md5") == md5_file(path) == "900150983cd24fb0d6963f7d28e17f72"
