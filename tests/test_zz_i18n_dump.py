from tests.test_i18n import Visible

def test_dump(client, make_case):
    client.set_cookie("lang", "kk")
    for path in ("/", "/report"):
        print("\n".join(Visible(client.get(path).get_data(as_text=True)).nodes))
