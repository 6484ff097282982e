"""What the webhook tests share: a resolver that answers from a table."""

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IHostnameResolver
from zope.interface import implementer


@implementer(IHostnameResolver)
class TableResolver:
    """Names -> addresses, as a DNS server we control would answer; a list of
    answers per name is used one per lookup (a rebinding server), the last kept."""

    def __init__(self, table):
        self.table = dict(table)
        self.asked = []

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None,
                        transportSemantics="TCP"):
        self.asked.append(hostName)
        receiver.resolutionBegan(None)
        answer = self.table.get(hostName, ())
        if answer and isinstance(answer[0], (list, tuple)):
            answers = answer
            answer = answers[0]
            if len(answers) > 1:
                self.table[hostName] = answers[1:]
        for address in answer:
            kind = IPv6Address if ":" in address else IPv4Address
            receiver.addressResolved(kind("TCP", address, portNumber))
        receiver.resolutionComplete()
        return None
