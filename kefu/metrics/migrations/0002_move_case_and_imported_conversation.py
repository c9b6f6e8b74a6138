# The case archive moved to the care app and the message-history import's
# ImportedConversation to the conversations app. Their tables stay (rows and all): only
# the metrics app's state forgets the models; care 0001 and conversations 0004 adopt them.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('metrics', '0001_initial'),
        ('care', '0001_initial'),
        ('conversations', '0004_importedconversation'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name='Case'),
                migrations.DeleteModel(name='ImportedConversation'),
            ],
            database_operations=[],
        ),
    ]
