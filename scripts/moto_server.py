"""moto's server (the S3 and KMS emulator of the tests), with one KMS gap closed.

moto's KMS `Sign`/`Verify` ignore `MessageType=DIGEST` (documented there as not yet
implemented) and hash the 32-byte digest again, while real KMS signs the digest as
given. The directory signs the SHA-256 of the participants file's JWS signing input
with `MessageType=DIGEST` (the file exceeds KMS's 4 KiB message limit), so this
wrapper gives moto's ECDSA keys the real behaviour: within a `DIGEST` request the
message is signed and verified as prehashed. Everything else is moto as installed.

Usage: python moto_server.py -H 127.0.0.1 -p PORT   (moto_server's arguments)
"""

import sys
import threading

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from moto.kms import responses
from moto.kms import utils as kms_utils
from moto.server import main

# The server answers requests on several threads: the flag is per request thread.
_request = threading.local()

_HASHES = {"ECDSA_SHA_256": hashes.SHA256, "ECDSA_SHA_384": hashes.SHA384, "ECDSA_SHA_512": hashes.SHA512}


def _noting_message_type(handler):
    def wrapped(self):
        _request.digest = self._get_param("MessageType") == "DIGEST"
        try:
            return handler(self)
        finally:
            _request.digest = False

    return wrapped


def _ecdsa(key, signing_algorithm):
    kms_utils.validate_signing_algorithm(signing_algorithm, key.valid_signing_algorithms)
    algorithm = _HASHES[signing_algorithm]()
    if getattr(_request, "digest", False):
        return ec.ECDSA(utils.Prehashed(algorithm))
    return ec.ECDSA(algorithm)


def _sign(self, message, signing_algorithm):
    return self.private_key.sign(message, _ecdsa(self, signing_algorithm))


def _verify(self, message, signature, signing_algorithm):
    try:
        self.private_key.public_key().verify(signature, message, _ecdsa(self, signing_algorithm))
        return True
    except InvalidSignature:
        return False


responses.KmsResponse.sign = _noting_message_type(responses.KmsResponse.sign)
responses.KmsResponse.verify = _noting_message_type(responses.KmsResponse.verify)
kms_utils.ECDSAPrivateKey.sign = _sign
kms_utils.ECDSAPrivateKey.verify = _verify

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
