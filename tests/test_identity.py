"""Names, numbers, national ID numbers and passwords: the checks registration relies on."""
import pytest

from reslib.errors import ReslibError
from reslib.services import identity

VALID_ID = "11010519491231002X"  # GB 11643's own worked example


def test_gb11643_check_digit_accepts_valid_numbers():
    assert identity.national_id_is_valid(VALID_ID)
    assert identity.national_id_is_valid(VALID_ID.lower())


@pytest.mark.parametrize("number", [
    "110105194912310021",  # wrong check digit
    "11010519491231002",  # 17 digits
    "1101051949123100X2",  # X not last
    "110105194902300028",  # 30 February
    "110105299912310023",  # born in the future
    "",
])
def test_gb11643_rejects_bad_numbers(number):
    assert not identity.national_id_is_valid(number)


def test_national_id_is_kept_only_as_keyed_hash_and_mask(app):
    digest, masked = identity.protect_national_id(VALID_ID)
    assert VALID_ID not in digest and len(digest) == 64
    assert masked == "110***********002X"
    app.config["ID_NUMBER_KEY"] = "another-district"
    assert identity.protect_national_id(VALID_ID)[0] != digest  # keyed: not a plain hash anyone can recompute


def test_protect_national_id_names_the_field(app):
    with pytest.raises(ReslibError) as err:
        identity.protect_national_id("110105194912310021")
    assert err.value.field == "id_number" and "校验码" in err.value.message


@pytest.mark.parametrize("raw, expected", [
    ("张伟", "张伟"),
    (" 阿依古丽•买买提 ", "阿依古丽·买买提"),  # bullet typed for the middle dot
    ("欧阳晓晨", "欧阳晓晨"),
    ("扎西・多吉", "扎西·多吉"),
    ("Anna Li", "Anna Li"),
])
def test_real_names_accept_chinese_minority_and_latin_names(app, raw, expected):
    assert identity.normalise_real_name(raw) == expected


@pytest.mark.parametrize("raw", ["张", "张3", "<script>", "·张伟", "张伟·", "a" * 41])
def test_real_names_refuse_what_cannot_be_a_name(app, raw):
    with pytest.raises(ReslibError):
        identity.normalise_real_name(raw)


@pytest.mark.parametrize("password", ["Short1!", "alllowercase1", "Password123", "NoDigitsHere", "Aa123456!"])
def test_password_policy_refuses_weak_or_common_passwords(app, password):
    with pytest.raises(ReslibError):
        identity.check_password_policy(password)


def test_password_policy_refuses_password_containing_username(app):
    with pytest.raises(ReslibError):
        identity.check_password_policy("Zhangwei#2024", "zhangwei")
    identity.check_password_policy("Lesson#Plan42", "zhangwei")
