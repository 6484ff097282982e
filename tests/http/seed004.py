"""Seed 004's example request bodies, as the seed writes them (comments
dropped, as JSON needs), with its <placeholders> replaced by real values."""

NUMBER = "15551230001"       # "<phone number with country code>"
NUMBERS = ("15551230001", "15551230002", "15551230003")   # "<phone number1..3 ...>"
SENDER = "MYBRAND"           # "<purchased sender ID>"

EXAMPLES = {
    "simple": {
        "deliverychannel": "sms",
        "channels": {"sms": {"text": "Sending first SMS using IMIconnect", "senderid": SENDER}},
        "destination": [{"msisdn": [NUMBER]}],
    },
    "smartlink": {
        "channels": {
            "smartlinks": [{"linkid": 5, "validity": 30}],
            "sms": {"type": 1,
                    "text": "Sending first SMS with smart link using IMIconnect. Click the link "
                            "to get surprise gift {{link_5}}",
                    "senderid": "DEMOBK"},
        },
        "destination": [{"msisdn": [NUMBER]}],
    },
    "optional parameters": {
        "correlationid": "sgh3tvk",
        "notifyurl": "https://mywebsite.com/record/transactions",
        "notifydata": "kopwest4kfr",
        "expiry": "2015-04-12T18:51:19",
        "priority": "2",
        "deliverychannel": "sms",
        "channels": {
            "smartlinks": [{"linkid": 5, "validity": 30}],
            "sms": {"text": "Sending first SMS with smart link using IMIconnect. Click the link "
                            "to get surprise gift {{link_5}}",
                    "senderid": "DEMOBK"},
        },
        "destination": [{"msisdn": [NUMBER], "correlationid": "sgh3tvkpert"}],
    },
    "variables": {
        "deliverychannel": "sms",
        "channels": {"sms": {"text": "$(name) $(email)", "senderid": "DEMOBK"}},
        "destination": [{"msisdn": [NUMBER]}],
    },
    "batch": [
        {"deliverychannel": "sms",
         "channels": {"sms": {"text": "Hi John, Greetings from MNOP bank. "}},
         "destination": [{"msisdn": [NUMBERS[0]]}]},
        {"deliverychannel": "sms",
         "channels": {"sms": {"text": "Hi Mark, Greetings from MNOP bank. "}},
         "destination": [{"msisdn": [NUMBERS[1]]}]},
        {"deliverychannel": "sms",
         "channels": {"sms": {"text": "Hi steve, Greetings from MNOP bank. "}},
         "destination": [{"msisdn": [NUMBERS[2]]}]},
    ],
    "template": {
        "correlationid": "",
        "conversationid": "",
        "callbackData": "",
        "notifyurl": "",
        "route": "",
        "expiry": "",
        "deliverychannel": "sms",
        "message": {"template": "1"},
        "channels": {"sms": {}},
        "destination": [{"msisdn": [NUMBER]}],
    },
}
