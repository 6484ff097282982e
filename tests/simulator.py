"""A test case with a SimulatedSMSC on a loopback port, for the tests of the test peers."""

from twisted.internet import defer
from twisted.trial import unittest

from bench.smsc import SimulatedSMSC

HOST = "127.0.0.1"
SYSTEM_ID, PASSWORD = "router", "secret"


class SimulatorTestCase(unittest.TestCase):
    timeout = 20

    def setUp(self):
        self.smsc = SimulatedSMSC(SYSTEM_ID, PASSWORD, id_start=1000)
        self.port = self.smsc.listen(0).getHost().port
        self.clients = []

    @defer.inlineCallbacks
    def tearDown(self):
        for client in self.clients:
            yield client.abort()
        yield self.smsc.close()
