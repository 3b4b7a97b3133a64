"""ArduinoOTA push (device/net/arduino_ota.c) against a host that speaks espota.py's protocol byte
for byte (espota_client.py): invitation, optional MD5 challenge, the image over the connection the
device opens back, its acknowledgements and final result."""
import hashlib
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(__file__))
import espota_client as espota  # noqa: E402
import test_push  # noqa: E402


class ArduinoOta(test_push.PushDevice):
    host_args = ("--aota-port", "0")

    def test_upload_without_password(self):
        rc, log, acks = espota.upload("127.0.0.1", self.aota_port, self.p("2.0.0.img"))
        self.assertEqual((rc, log[-1]), (0, "Result: OK"), log)
        # Every chunk was acknowledged with byte counts (decimal digits, no delimiter).
        self.assertTrue(len(acks) >= os.path.getsize(self.p("2.0.0.img")) // 1460 and "".join(acks).isdigit(), acks)
        self.assertIn("aota result=OTA_OK", self.proc.stdout.readline())
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())

    def test_untrusted_image_ends_with_an_error(self):
        rc, log, _ = espota.upload("127.0.0.1", self.aota_port, self.p("9.0.0.img"))
        self.assertEqual(rc, 1)
        self.assertRegex(log[-1], r"ERROR\[\d+\]: ")  # after acknowledgement digits; espota reads 64 bytes
        self.assertIn("aota result=OTA_ERR", self.proc.stdout.readline())
        self.assertEqual(self.status()["state"], "none")

    def test_filesystem_command_is_refused(self):
        rc, log, _ = espota.upload("127.0.0.1", self.aota_port, self.p("2.0.0.img"), command=espota.SPIFFS)
        self.assertEqual(rc, 1)
        self.assertRegex(log[-1], r"^Bad Answer: ERR: ERROR\[\d+\]: filesystem images are not supported")

    def test_garbage_is_dropped_and_the_next_invitation_works(self):
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.settimeout(0.5)
        for junk in (b"7 1234 10 " + b"0" * 32 + b"\n", b"0 1234 10 abc\n", b"hello"):
            s.sendto(junk, ("127.0.0.1", self.aota_port))
            with self.assertRaises(socket.timeout):
                s.recv(128)  # ArduinoOTA answers none of them
        rc, log, _ = espota.upload("127.0.0.1", self.aota_port, self.p("3.0.0.img"))
        self.assertEqual(rc, 0, log)
        self.proc.stdout.readline()
        self.assertIn("version=3.0.0+0 state=testing", self.boot_line())


class ArduinoOtaPassword(test_push.PushDevice):
    host_args = ("--aota-port", "0", "--aota-password", "s3cr3t")

    def test_challenge(self):
        rc, log, _ = espota.upload("127.0.0.1", self.aota_port, self.p("2.0.0.img"), password="wrong")
        self.assertEqual((rc, log), (1, ["Authentication Failed"]))
        rc, log, _ = espota.upload("127.0.0.1", self.aota_port, self.p("2.0.0.img"), password="s3cr3t")
        self.assertEqual((rc, log[-1]), (0, "Result: OK"), log)
        self.assertIn("aota result=OTA_OK", self.proc.stdout.readline())
        self.assertIn("version=2.0.0+0 state=testing", self.boot_line())


if __name__ == "__main__":
    unittest.main()
